/**
 * The gateway as an operator sees it: health endpoints, GraphiQL, and a
 * shutdown that ends open subscriptions with a code and leaves nothing behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_EVENTS, TRIGGER } from '../helpers/operations.js';
import { disposeAll, httpGraphQL, startTestGateway, wsClient } from '../helpers/test-gateway.js';

afterAll(disposeAll);

describe('health endpoints', () => {
  it('should answer /healthz and /readyz with 200 while the engine is reachable', async () => {
    const gateway = await startTestGateway();
    const base = gateway.url.replace('/graphql', '');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
  });
});

describe('GraphiQL', () => {
  it('should serve GraphiQL on GET of the GraphQL path to a browser, and not when switched off', async () => {
    const on = await startTestGateway();
    const page = await fetch(on.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('graphiql');
    const off = await startTestGateway({ GRAPHIQL: 'false' });
    const none = await fetch(off.url, { headers: { accept: 'text/html' } });
    expect(none.status).toBe(406); // no GraphiQL: a browser's GET without a query is not acceptable
    expect(none.headers.get('content-type') ?? '').not.toContain('text/html');
    expect(await none.text()).not.toContain('graphiql');
  });
});

describe('shutdown', () => {
  it('should end an open subscription with SHUTTING_DOWN, close the socket with 1001 and release every listener', async () => {
    const gateway = await startTestGateway();
    const { body } = await httpGraphQL<{ triggerWorkflow: { runId: string } }>(gateway, TRIGGER, {
      workflow: 'stream-text',
      input: { chunkSize: 1, delayMs: 100 },
    });
    const runId = body.data?.triggerWorkflow.runId as string;
    let closeCode: number | undefined;
    // not lazy: the socket stays open after the subscription ends, so we see the server close it
    const client = wsClient(gateway, {
      lazy: false,
      onNonLazyError: () => {}, // the close is what this test waits for
      on: {
        closed: (event) => {
          closeCode = (event as { code: number }).code;
        },
      },
    });
    const received: Array<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }> = [];
    let firstEvent: () => void = () => {};
    const gotFirst = new Promise<void>((resolve) => {
      firstEvent = resolve;
    });
    const ended = new Promise<string>((resolve) => {
      client.subscribe(
        { query: RUN_EVENTS, variables: { runId } },
        {
          next: (value) => {
            received.push(value as unknown as (typeof received)[number]);
            firstEvent();
          },
          error: (e) => resolve(`error ${JSON.stringify(e)} ${String(e)}`),
          complete: () => resolve('complete'),
        },
      );
    });
    await gotFirst;
    expect(gateway.runs.stats()).toMatchObject({ upstreams: 1, subscribers: 1 });

    await gateway.stop();
    expect(await ended).toBe('complete');
    expect(received.at(-1)?.errors?.[0]?.extensions?.code).toBe('SHUTTING_DOWN');
    expect(closeCode).toBe(1001);
    expect(gateway.runs.stats()).toEqual({ runs: 0, upstreams: 0, subscribers: 0, events: 0, bytes: 0 });
    await expect(fetch(gateway.url.replace('/graphql', '/healthz'))).rejects.toThrow();
  });
});
