/**
 * The gateway as an operator sees it: health endpoints, GraphiQL, and a
 * shutdown that ends open subscriptions with a code and leaves nothing behind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { disposeAll, startTestGateway, triggerRun, watchRun } from '../helpers/test-gateway.js';

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
    const runId = await triggerRun(gateway, 'stream-text', { chunkSize: 1, delayMs: 100 });
    const watched = watchRun(gateway.wsUrl, runId);
    await watched.first;
    expect(gateway.runs.stats()).toMatchObject({ upstreams: 1, subscribers: 1 });

    await gateway.stop();
    expect(await watched.ended).toBe('complete');
    expect(watched.errorCodes).toEqual(['SHUTTING_DOWN']);
    expect(watched.closeCode()).toBe(1001);
    expect(gateway.runs.stats()).toEqual({
      runs: 0,
      upstreams: 0,
      runListeners: 0,
      subscribers: 0,
      events: 0,
      bytes: 0,
    });
    await watched.dispose();
    await expect(fetch(gateway.url.replace('/graphql', '/healthz'))).rejects.toThrow();
  });
});
