/**
 * Authentication and run tokens on every transport: no path (HTTP, SSE,
 * graphql-ws) triggers or follows a run without the right credential, and a
 * run token opens its own run and nothing else, until it expires.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RUN_EVENTS, type WireEvent } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  type GraphQLResponse,
  startTestGateway,
  type TestGateway,
  wsClient,
} from '../helpers/test-gateway.js';

const APP = 'app-key-0123456789abcdef';
const VIEWER = 'viewer-key-0123456789abcdef';
const KEYS = `app:${APP}:trigger+read,viewer:${VIEWER}:read`;

const TRIGGER_WITH_TOKEN = /* GraphQL */ `
  mutation Trigger($workflow: String!, $input: JSON) {
    triggerWorkflow(workflow: $workflow, input: $input) { runId runToken { token runId expiresAt } }
  }
`;
const CREATE_TOKEN = /* GraphQL */ `
  mutation Token($runId: ID!) { createRunToken(runId: $runId) { token expiresAt } }
`;
const RUN_STATE = /* GraphQL */ `
  query Run($id: ID!) { workflowRun(id: $id) { id status } }
`;

interface Triggered {
  triggerWorkflow: { runId: string; runToken: { token: string; runId: string; expiresAt: string } };
}

/** One operation over HTTP with an optional bearer credential. */
async function http<T = Record<string, unknown>>(
  gateway: TestGateway,
  query: string,
  variables: Record<string, unknown> = {},
  credential?: string,
): Promise<{ status: number; body: GraphQLResponse<T> }> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponse<T> };
}

const codeOf = (body: GraphQLResponse<unknown>) => body.errors?.[0]?.extensions?.code;

async function trigger(gateway: TestGateway, input: Record<string, unknown> = {}) {
  const { body } = await http<Triggered>(gateway, TRIGGER_WITH_TOKEN, { workflow: 'stream-text', input }, APP);
  if (!body.data) throw new Error(`trigger failed: ${JSON.stringify(body.errors)}`);
  return body.data.triggerWorkflow;
}

/** Connects over graphql-ws with `connectionParams` and resolves with the close code the server ends with. */
function wsCloseCode(gateway: TestGateway, connectionParams?: Record<string, unknown>): Promise<number> {
  return new Promise((resolve) => {
    const client = wsClient(gateway, {
      lazy: false,
      ...(connectionParams ? { connectionParams } : {}),
      onNonLazyError: () => {},
      on: { closed: (event) => resolve((event as { code: number }).code) },
    });
    void client;
  });
}

/** Follows over graphql-ws with a credential; returns every result until the end. */
const followWs = (gateway: TestGateway, credential: string, runId: string, after?: string) =>
  collect(wsClient(gateway, { connectionParams: { authorization: `Bearer ${credential}` } }), RUN_EVENTS, {
    runId,
    ...(after ? { after } : {}),
  });

/** Follows over SSE (graphql-sse, distinct connections) with a credential. */
async function followSse(gateway: TestGateway, credential: string | undefined, runId: string) {
  const client = createSseClient({
    url: gateway.url,
    singleConnection: false,
    retryAttempts: 0,
    headers: credential ? { authorization: `Bearer ${credential}` } : {},
  });
  const results: GraphQLResponse[] = [];
  try {
    for await (const result of client.iterate({ query: RUN_EVENTS, variables: { runId } })) {
      results.push(result as unknown as GraphQLResponse);
    }
  } catch (error) {
    return { results, error };
  } finally {
    client.dispose();
  }
  return { results, error: undefined };
}

const eventsOf = (results: GraphQLResponse[]) =>
  results.flatMap((r) => (r.data ? [r.data['workflowRunEvents'] as WireEvent] : []));

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ GATEWAY_API_KEYS: KEYS });
});
afterAll(disposeAll);

describe('when authentication is on', () => {
  it('should answer HTTP 401 UNAUTHENTICATED without a credential or with a wrong one, on every operation', async () => {
    for (const credential of [undefined, 'not-a-key', `${APP}x`]) {
      const triggered = await http(gateway, TRIGGER_WITH_TOKEN, { workflow: 'stream-text' }, credential);
      expect(triggered.status).toBe(401);
      expect(codeOf(triggered.body)).toBe('UNAUTHENTICATED');
      expect(triggered.body.data ?? null).toBeNull();
      const listed = await http(gateway, '{ workflows { name } }', {}, credential);
      expect([listed.status, codeOf(listed.body)]).toEqual([401, 'UNAUTHENTICATED']);
    }
  });

  it('should answer HTTP 403 FORBIDDEN to a key without the trigger scope, and let the app key trigger', async () => {
    const denied = await http(gateway, TRIGGER_WITH_TOKEN, { workflow: 'stream-text' }, VIEWER);
    expect([denied.status, codeOf(denied.body)]).toEqual([403, 'FORBIDDEN']);
    const cancel = await http(
      gateway,
      'mutation { cancelWorkflowRun(id: "00000000-0000-4000-8000-000000000000") { id } }',
      {},
      VIEWER,
    );
    expect([cancel.status, codeOf(cancel.body)]).toEqual([403, 'FORBIDDEN']);
    const { runId, runToken } = await trigger(gateway);
    expect(runToken.runId).toBe(runId);
    expect(Date.parse(runToken.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('should close graphql-ws connections with 4401 without a credential and 4403 with a bad one', async () => {
    expect(await wsCloseCode(gateway)).toBe(4401);
    expect(await wsCloseCode(gateway, { authorization: 'Bearer nope' })).toBe(4403);
    expect(await wsCloseCode(gateway, { authorization: 'Bearer a.b.c' })).toBe(4403);
  });

  it('should refuse a trigger over graphql-ws to a read-only key with FORBIDDEN', async () => {
    const results = await collect(
      wsClient(gateway, { connectionParams: { authorization: `Bearer ${VIEWER}` } }),
      TRIGGER_WITH_TOKEN,
      {
        workflow: 'stream-text',
      },
    );
    expect(codeOf(results[0] as GraphQLResponse)).toBe('FORBIDDEN');
  });

  it('should refuse SSE without a credential with HTTP 401 and a coded error, and serve it with a read key', async () => {
    const { runId } = await trigger(gateway, { text: 'sse auth', chunkSize: 4, delayMs: 10 });
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: RUN_EVENTS, variables: { runId } }),
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('"code":"UNAUTHENTICATED"');
    const { results, error } = await followSse(gateway, VIEWER, runId);
    expect(error).toBeUndefined();
    expect(eventsOf(results).at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
  });
});

describe('a run token', () => {
  it('should follow its run over graphql-ws and SSE, and read its state over HTTP', async () => {
    const { runId, runToken } = await trigger(gateway, { text: 'token holder', chunkSize: 3, delayMs: 10 });
    const overWs = eventsOf(await followWs(gateway, runToken.token, runId));
    expect(overWs.at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
    expect(
      overWs
        .filter((e) => e.__typename === 'StreamChunkEvent')
        .map((e) => e.data)
        .join(''),
    ).toBe('token holder');
    const overSse = await followSse(gateway, runToken.token, runId);
    expect(eventsOf(overSse.results)).toEqual(overWs);
    const state = await http<{ workflowRun: { id: string } }>(gateway, RUN_STATE, { id: runId }, runToken.token);
    expect(state.body.data?.workflowRun.id).toBe(runId);
  });

  it('should never open another run, trigger, list workflows or mint tokens', async () => {
    const first = await trigger(gateway);
    const second = await trigger(gateway);
    const token = first.runToken.token;

    const otherWs = await followWs(gateway, token, second.runId);
    expect(otherWs.map((r) => codeOf(r))).toEqual(['FORBIDDEN']);
    const otherSse = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: RUN_EVENTS, variables: { runId: second.runId } }),
    });
    expect(otherSse.status).toBe(403);
    expect(await otherSse.text()).toContain('"code":"FORBIDDEN"');
    const otherState = await http(gateway, RUN_STATE, { id: second.runId }, token);
    expect([otherState.status, codeOf(otherState.body)]).toEqual([403, 'FORBIDDEN']);

    for (const [query, variables] of [
      [TRIGGER_WITH_TOKEN, { workflow: 'stream-text' }],
      ['{ workflows { name } }', {}],
      [CREATE_TOKEN, { runId: first.runId }],
      [`mutation { cancelWorkflowRun(id: "${first.runId}") { id } }`, {}],
    ] as const) {
      const answer = await http(gateway, query, variables, token);
      expect([answer.status, codeOf(answer.body)]).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('should reject a token signed with another secret, or tampered with', async () => {
    const other = await startTestGateway({ GATEWAY_API_KEYS: KEYS });
    const { runId, runToken } = await trigger(other);
    const foreign = await http(gateway, RUN_STATE, { id: runId }, runToken.token);
    expect([foreign.status, codeOf(foreign.body)]).toEqual([401, 'UNAUTHENTICATED']);
    const [header, payload, signature] = runToken.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })).toString(
      'base64url',
    );
    const tampered = await http(other, RUN_STATE, { id: runId }, `${header}.${forged}.${signature}`);
    expect([tampered.status, codeOf(tampered.body)]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('should end a subscription with TOKEN_EXPIRED when the token expires mid-run, and resume with a fresh token from the last cursor', async () => {
    const short = await startTestGateway({ GATEWAY_API_KEYS: KEYS, RUN_TOKEN_TTL_MS: '2000' });
    const text = 'expiring token, resumed without a gap '.repeat(3);
    const { runId, runToken } = await trigger(short, { text, chunkSize: 2, delayMs: 60 });

    const before = await followWs(short, runToken.token, runId);
    const last = before.at(-1) as GraphQLResponse;
    expect(codeOf(last)).toBe('TOKEN_EXPIRED');
    const seen = eventsOf(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)?.__typename).not.toBe('RunStatusEvent');

    // the expired token no longer connects
    expect(await wsCloseCode(short, { authorization: `Bearer ${runToken.token}` })).toBe(4403);
    const expired = await http(short, RUN_STATE, { id: runId }, runToken.token);
    expect([
      expired.status,
      codeOf(expired.body),
      (expired.body.errors?.[0]?.extensions as Record<string, unknown> | undefined)?.['reason'],
    ]).toEqual([401, 'UNAUTHENTICATED', 'TOKEN_EXPIRED']);

    // the app's server mints a fresh token (each lives 2 s here); the browser resumes where it stopped, as often as needed
    const all = [...seen];
    let resumes = 0;
    for (let ended = false; !ended && resumes < 10; resumes++) {
      const fresh = await http<{ createRunToken: { token: string } }>(short, CREATE_TOKEN, { runId }, APP);
      const token = fresh.body.data?.createRunToken.token as string;
      const after = await followWs(short, token, runId, all.at(-1)?.cursor);
      all.push(...eventsOf(after));
      ended = codeOf(after.at(-1) as GraphQLResponse) !== 'TOKEN_EXPIRED';
    }
    expect(resumes).toBeGreaterThanOrEqual(1);
    expect(
      all
        .filter((e) => e.__typename === 'StreamChunkEvent')
        .map((e) => e.data)
        .join(''),
    ).toBe(text);
    expect(new Set(all.map((e) => e.cursor)).size).toBe(all.length);
    expect(all.at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
  });
});

describe('open connections and other sites', () => {
  it('should refuse new operations on an open graphql-ws connection once its run token expired', async () => {
    const short = await startTestGateway({ GATEWAY_API_KEYS: KEYS, RUN_TOKEN_TTL_MS: '1000' });
    const { runId, runToken } = await trigger(short);
    // one connection kept open throughout (not lazy): its token was checked once, at connect
    const client = wsClient(short, {
      lazy: false,
      onNonLazyError: () => {},
      connectionParams: { authorization: `Bearer ${runToken.token}` },
    });
    const state = () => collect(client, RUN_STATE, { id: runId }).then((r) => codeOf(r[0] as GraphQLResponse) ?? 'OK');
    expect(await state()).toBe('OK');
    await expect.poll(state, { timeout: 5_000, interval: 100 }).toBe('TOKEN_EXPIRED');
    const follow = await collect(client, RUN_EVENTS, { runId });
    expect(follow.map((r) => codeOf(r))).toEqual(['TOKEN_EXPIRED']);
  });

  it('should answer a subscription over plain HTTP (no SSE) with BAD_REQUEST and hold nothing for it', async () => {
    const { runId } = await trigger(gateway);
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${VIEWER}` },
      body: JSON.stringify({ query: RUN_EVENTS, variables: { runId } }),
    });
    expect(JSON.stringify(await res.json())).toContain('"code":"BAD_REQUEST"');
    expect(gateway.runs.stats().subscribers).toBe(0);
  });

  it('should send no CORS grant to another site, refuse form posts, and refuse its WebSocket upgrades', async () => {
    const cross = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', authorization: `Bearer ${APP}` },
      body: JSON.stringify({ query: '{ workflows { name } }' }),
    });
    expect(cross.headers.get('access-control-allow-origin')).toBeNull();
    const form = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(form.status).toBe(415);
    expect(JSON.stringify(await form.json())).toContain('"code":"BAD_REQUEST"');
    const upgrade = (origin: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws', { headers: { origin } });
        socket.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          socket.terminate();
        });
        socket.on('open', () => {
          resolve(101);
          socket.close();
        });
        socket.on('error', () => {});
      });
    expect(await upgrade('https://evil.example')).toBe(403);
    expect(await upgrade(new URL(gateway.url).origin)).toBe(101);
  });
});
