/**
 * Every error code a client can meet, on each transport it can meet it on:
 * plain HTTP, graphql-ws and SSE. Bad input is answered at once, with a code,
 * never with a stack trace or a hang.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_EVENTS, TRIGGER } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  engineClient,
  httpGraphQL,
  startTestGateway,
  type TestGateway,
  wsClient,
  wsQuery,
} from '../helpers/test-gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ RUN_LOOKUP_TIMEOUT_MS: '1500' });
});
afterAll(disposeAll);

const unknownRunId = '00000000-0000-4000-8000-000000000000';

function codes(body: { errors?: Array<{ extensions?: { code?: string } }> }): Array<string | undefined> {
  return (body.errors ?? []).map((e) => e.extensions?.code);
}

/** Runs a subscription over SSE (graphql-sse, distinct connections mode) and returns its error, if any. */
function sseSubscribe(
  query: string,
  variables: Record<string, unknown>,
): Promise<{ results: unknown[]; error?: unknown }> {
  const client = createSseClient({ url: gateway.url, singleConnection: false, retryAttempts: 0 });
  return new Promise((resolve) => {
    const results: unknown[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          results.push(value);
        },
        error: (error) => {
          client.dispose();
          resolve({ results, error });
        },
        complete: () => {
          client.dispose();
          resolve({ results });
        },
      },
    );
  });
}

describe('triggerWorkflow errors', () => {
  it('should answer WORKFLOW_NOT_FOUND for a workflow the engine does not have, over HTTP', async () => {
    const { status, body } = await httpGraphQL(gateway, TRIGGER, { workflow: 'no-such-workflow' });
    expect(status).toBe(200);
    expect(codes(body)).toEqual(['WORKFLOW_NOT_FOUND']);
    expect(body.errors?.[0]?.message).toContain('no-such-workflow');
  });

  it('should answer BAD_USER_INPUT when the input is not a JSON object, over graphql-ws', async () => {
    for (const input of [[1, 2], 'text', 42, true]) {
      const result = await wsQuery(wsClient(gateway), TRIGGER, { workflow: 'stream-text', input });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('should answer BAD_USER_INPUT for nested additionalMetadata values', async () => {
    const { body } = await httpGraphQL(gateway, TRIGGER, { workflow: 'stream-text', meta: { nested: { a: 1 } } });
    expect(codes(body)).toEqual(['BAD_USER_INPUT']);
  });

  it('should answer GRAPHQL_VALIDATION_FAILED with HTTP 400 for an operation that does not validate', async () => {
    const { status, body } = await httpGraphQL(gateway, '{ workflows { nope } }');
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('should answer GRAPHQL_PARSE_FAILED for a syntax error, over graphql-ws as over HTTP', async () => {
    const ws = await wsQuery(wsClient(gateway), '{ workflows { name ').catch((errors: unknown) => ({ errors }));
    expect(JSON.stringify(ws)).toContain('GRAPHQL_PARSE_FAILED');
    const { body } = await httpGraphQL(gateway, '{ workflows { name ');
    expect(codes(body)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });
});

describe('workflowRun and cancelWorkflowRun errors', () => {
  it('should return null for a run the engine does not know', async () => {
    const { body } = await httpGraphQL(gateway, 'query($id: ID!) { workflowRun(id: $id) { id } }', {
      id: unknownRunId,
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ workflowRun: null });
  });

  it('should answer BAD_USER_INPUT for an id that is not a run id', async () => {
    const { body } = await httpGraphQL(gateway, 'query($id: ID!) { workflowRun(id: $id) { id } }', { id: 'nope' });
    expect(codes(body)).toEqual(['BAD_USER_INPUT']);
  });

  it('should answer RUN_NOT_FOUND when cancelling an unknown run', async () => {
    const { body } = await httpGraphQL(gateway, 'mutation($id: ID!) { cancelWorkflowRun(id: $id) { id } }', {
      id: unknownRunId,
    });
    expect(codes(body)).toEqual(['RUN_NOT_FOUND']);
  });
});

describe('workflowRunEvents errors', () => {
  it('should answer BAD_USER_INPUT at once for a malformed run id, over graphql-ws', async () => {
    const started = Date.now();
    const results = await collect(wsClient(gateway), RUN_EVENTS, { runId: 'not-a-uuid' }, { timeoutMs: 5_000 }).catch(
      (errors: unknown) => [{ errors }],
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(JSON.stringify(results)).toContain('BAD_USER_INPUT');
  });

  it('should answer RUN_NOT_FOUND for an unknown run after the lookup timeout, over graphql-ws', async () => {
    const results = await collect(wsClient(gateway), RUN_EVENTS, { runId: unknownRunId }, { timeoutMs: 10_000 }).catch(
      (errors: unknown) => [{ errors }],
    );
    expect(JSON.stringify(results)).toContain('RUN_NOT_FOUND');
  });

  it('should answer BAD_USER_INPUT for a malformed cursor, and for a cursor of another run', async () => {
    const trigger = await wsQuery<{ triggerWorkflow: { runId: string } }>(wsClient(gateway), TRIGGER, {
      workflow: 'stream-text',
      input: { text: 'x', delayMs: 0 },
    });
    const runId = trigger.data?.triggerWorkflow.runId as string;
    const events = await collect<{ workflowRunEvents: { cursor: string } }>(wsClient(gateway), RUN_EVENTS, { runId });
    const cursor = events[0]?.data?.workflowRunEvents.cursor as string;

    const malformed = await collect(wsClient(gateway), RUN_EVENTS, { runId, after: 'garbage' }).catch((e: unknown) => [
      { errors: e },
    ]);
    expect(JSON.stringify(malformed)).toContain('BAD_USER_INPUT');
    const other = await collect(wsClient(gateway), RUN_EVENTS, { runId: unknownRunId, after: cursor }).catch(
      (e: unknown) => [{ errors: e }],
    );
    expect(JSON.stringify(other)).toContain('belongs to another run');
  });

  it('should answer the same coded errors over SSE', async () => {
    const malformed = await sseSubscribe(RUN_EVENTS, { runId: 'not-a-uuid' });
    expect(JSON.stringify(malformed)).toContain('BAD_USER_INPUT');
    const unknown = await sseSubscribe(RUN_EVENTS, { runId: unknownRunId });
    expect(JSON.stringify(unknown)).toContain('RUN_NOT_FOUND');
  });
});

describe('an unreachable engine', () => {
  it('should answer ENGINE_UNAVAILABLE, with no detail of the failure', async () => {
    const dead = await startTestGateway({}, engineClient({ hostPort: '127.0.0.1:1', apiUrl: 'http://127.0.0.1:1' }));
    const { body } = await httpGraphQL(dead, TRIGGER, { workflow: 'stream-text' });
    expect(codes(body)).toEqual(['ENGINE_UNAVAILABLE']);
    expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
    const ready = await fetch(dead.url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(503);
  });
});

describe('SSE transport', () => {
  it('should stream a whole run over SSE in distinct-connections mode', async () => {
    const { body } = await httpGraphQL<{ triggerWorkflow: { runId: string } }>(gateway, TRIGGER, {
      workflow: 'stream-text',
      input: { text: 'over server-sent events', chunkSize: 5, delayMs: 10 },
    });
    const runId = body.data?.triggerWorkflow.runId as string;
    const { results, error } = await sseSubscribe(RUN_EVENTS, { runId });
    expect(error).toBeUndefined();
    const events = results.map(
      (r) => (r as { data: { workflowRunEvents: { __typename: string; data?: string } } }).data.workflowRunEvents,
    );
    expect(
      events
        .filter((e) => e.__typename === 'StreamChunkEvent')
        .map((e) => e.data)
        .join(''),
    ).toBe('over server-sent events');
    expect(events.at(-1)?.__typename).toBe('RunStatusEvent');
  });
});
