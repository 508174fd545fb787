/**
 * Every configured limit, on every transport it applies to (HTTP, graphql-ws,
 * SSE): passing it answers with its coded error (LIMIT_EXCEEDED naming the
 * setting, RATE_LIMITED, FORBIDDEN, WORKFLOW_NOT_FOUND, HTTP 413 and 429,
 * graphql-ws close 4429), and a request at the limit still works. Each limit
 * gets a gateway of its own with a small value; the real engine runs the
 * workflows.
 */
import { Lexer, Source, TokenKind } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { TRIGGER } from '../helpers/operations.js';
import { disposeAll, startTestGateway, type TestGateway, triggerRun, wsClient } from '../helpers/test-gateway.js';

type Vars = Record<string, unknown>;

interface WireError {
  message: string;
  extensions?: Record<string, unknown>;
}

interface Result<T = Record<string, unknown>> {
  data?: T | null;
  errors?: WireError[];
}

const transports = ['http', 'graphql-ws', 'sse'] as const;
type Transport = (typeof transports)[number];

/** What one operation got on the wire. */
interface Answer {
  /** HTTP status (HTTP and SSE). */
  readonly status?: number;
  /** Every payload, in order: `next` payloads, or the `error` message's errors as one `{ errors }`. */
  readonly results: Result[];
  /** graphql-ws: the close code, when the socket closed before the operation ended. */
  readonly closeCode?: number;
}

const APP = 'app-key-0123456789abcdef';
const OTHER = 'other-key-0123456789abcdef';
const KEYS = `app:${APP}:trigger+read,other:${OTHER}:trigger+read`;
const ZERO_RUN = '00000000-0000-4000-8000-000000000000';

const FOLLOW = /* GraphQL */ `
  subscription Follow($runId: ID!) {
    workflowRunEvents(runId: $runId) { __typename ... on StreamChunkEvent { data } ... on RunStatusEvent { status } }
  }
`;
const CANCEL = /* GraphQL */ `
  mutation Cancel($id: ID!) { cancelWorkflowRun(id: $id) { id } }
`;
/** A stream-text input that runs in a few milliseconds. */
const QUICK = { text: 'x', delayMs: 0 };

/** One operation over HTTP POST, with an optional bearer credential. */
async function http(
  gateway: TestGateway,
  query: string,
  variables: Vars = {},
  credential?: string,
): Promise<{ status: number; body: Result }> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as Result };
}

/** One operation over graphql-ws, on a connection of its own, until it completes, fails or the socket closes. */
function overWs(gateway: TestGateway, query: string, variables: Vars = {}, credential?: string): Promise<Answer> {
  const client = wsClient(gateway, credential ? { connectionParams: { authorization: `Bearer ${credential}` } } : {});
  return new Promise((resolve) => {
    const results: Result[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          results.push(value as Result);
        },
        error: (error) => {
          if (Array.isArray(error)) resolve({ results: [...results, { errors: error as WireError[] }] });
          else resolve({ results, closeCode: (error as { code?: number }).code ?? -1 });
        },
        complete: () => resolve({ results }),
      },
    );
  });
}

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** A POST with `Accept: text/event-stream`, read event by event. */
interface SseStream {
  readonly status: number;
  readonly contentType: string | null;
  /** The next event; undefined once the stream ended. */
  next(): Promise<SseEvent | undefined>;
  /** The `next` payloads up to `complete` (or the JSON body, when the answer is not a stream). */
  rest(): Promise<Result[]>;
  close(): void;
}

const openStreams: SseStream[] = [];

async function openSse(gateway: TestGateway, query: string, variables: Vars = {}, credential?: string) {
  return sseRequest(gateway, JSON.stringify({ query, variables }), credential);
}

async function sseRequest(gateway: TestGateway, body: string, credential?: string): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body,
    signal: abort.signal,
  });
  const contentType = res.headers.get('content-type');
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const next = async (): Promise<SseEvent | undefined> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        let fields = 0;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue; // a comment (yoga's keep-alive)
          fields++;
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (fields > 0) return { event, data: data.join('\n') };
        continue;
      }
      const chunk = await reader.read();
      if (chunk.done) return undefined;
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  const stream: SseStream = {
    status: res.status,
    contentType,
    next,
    rest: async () => {
      if (!contentType?.startsWith('text/event-stream')) {
        let text = '';
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          text += decoder.decode(chunk.value, { stream: true });
        }
        return [JSON.parse(text) as Result];
      }
      const results: Result[] = [];
      for (let event = await next(); event && event.event !== 'complete'; event = await next()) {
        if (event.event === 'next') results.push(JSON.parse(event.data) as Result);
      }
      return results;
    },
    close: () => abort.abort(),
  };
  openStreams.push(stream);
  return stream;
}

/** One operation over SSE until its `complete`. */
async function overSse(gateway: TestGateway, query: string, variables: Vars = {}, credential?: string) {
  const stream = await openSse(gateway, query, variables, credential);
  const results = await stream.rest();
  stream.close();
  return { status: stream.status, results };
}

/** One operation on `transport`, to its end. */
async function answer(
  transport: Transport,
  gateway: TestGateway,
  query: string,
  variables: Vars = {},
  credential?: string,
): Promise<Answer> {
  switch (transport) {
    case 'http': {
      const { status, body } = await http(gateway, query, variables, credential);
      return { status, results: [body] };
    }
    case 'graphql-ws':
      return overWs(gateway, query, variables, credential);
    case 'sse':
      return overSse(gateway, query, variables, credential);
  }
}

/** The answer is exactly one refusal with `code` (and the `extensions` given), and nothing ran. */
function expectRefused(got: Answer, code: string, extensions: Record<string, unknown> = {}): void {
  expect(got.closeCode).toBeUndefined();
  expect(got.results).toMatchObject([{ errors: [{ extensions: { code, ...extensions } }] }]);
  expect(got.results[0]?.errors).toHaveLength(1);
  expect(got.results[0]?.data ?? null).toBeNull();
  // `extensions.http` is yoga's hint for the HTTP status: never part of the answer a client reads
  expect(got.results[0]?.errors?.[0]?.extensions).not.toHaveProperty('http');
}

/** Every payload has data and no error. */
function expectServed(got: Answer): void {
  expect(got.closeCode).toBeUndefined();
  expect(got.results.length).toBeGreaterThan(0);
  for (const result of got.results) {
    expect(result.errors).toBeUndefined();
    expect(result.data).toBeTruthy();
  }
}

/** A subscription's payloads were a whole run, up to its terminal event (whatever the response key). */
function expectWholeRun(got: Answer): void {
  expectServed(got);
  const last = Object.values(got.results.at(-1)?.data ?? {})[0] as { __typename?: string } | undefined;
  expect(last?.__typename).toBe('RunStatusEvent');
}

function runIdOf(got: Answer): string {
  const runId = (got.results[0]?.data as { triggerWorkflow?: { runId?: string } } | undefined)?.triggerWorkflow?.runId;
  expect(runId).toMatch(/^[0-9a-f-]{36}$/);
  return runId as string;
}

/** Tokens of a document as graphql-armor counts them (every lexer token but <EOF>). */
function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** An object whose JSON is exactly `bytes` bytes long (a stream-text input). */
function inputOfBytes(bytes: number): Vars {
  const input = { delayMs: 0, text: '' };
  input.text = 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(input)));
  expect(Buffer.byteLength(JSON.stringify(input))).toBe(bytes);
  return input;
}

let plain: TestGateway;
/** A finished run, followed by the subscriptions below. */
let doneRun: string;

beforeAll(async () => {
  plain = await startTestGateway();
  doneRun = await triggerRun(plain, 'stream-text', QUICK);
});

afterAll(async () => {
  for (const stream of openStreams) stream.close();
  await disposeAll();
});

type QueryLimit =
  | 'MAX_QUERY_DEPTH'
  | 'MAX_QUERY_COST'
  | 'MAX_QUERY_ALIASES'
  | 'MAX_QUERY_DIRECTIVES'
  | 'MAX_QUERY_TOKENS';

interface QueryLimitCase {
  readonly limit: QueryLimit;
  readonly value: number;
  /** A query exactly at the limit, and one just past it. */
  readonly query: readonly [at: string, over: string];
  /** The same for a subscription of `runId`. */
  readonly subscription: (runId: string) => readonly [at: string, over: string];
}

const follows = (runId: string, selection: string, alias = '') =>
  `subscription { ${alias}workflowRunEvents(runId: "${runId}") { ${selection} } }`;

const queryLimits: QueryLimitCase[] = [
  {
    limit: 'MAX_QUERY_DEPTH',
    value: 2,
    query: ['{ workflows { name } }', `{ workflowRun(id: "${ZERO_RUN}") { steps { name } } }`],
    // graphql-armor counts an inline fragment as a level
    subscription: (runId) => [follows(runId, '__typename'), follows(runId, '... on RunStatusEvent { status }')],
  },
  {
    limit: 'MAX_QUERY_COST',
    // objects 2, scalars 1, times 1.5 per level: 2 + 1.5 + 1.5
    value: 5,
    query: ['{ workflows { name name } }', '{ workflows { name name name } }'],
    subscription: (runId) => [
      follows(runId, '__typename __typename'),
      follows(runId, '__typename __typename __typename'),
    ],
  },
  {
    limit: 'MAX_QUERY_ALIASES',
    value: 1,
    query: ['{ all: workflows { name } }', '{ all: workflows { name } again: workflows { name } }'],
    subscription: (runId) => [
      follows(runId, '__typename', 'events: '),
      follows(runId, '... on RunStatusEvent { final: status }', 'events: '),
    ],
  },
  {
    limit: 'MAX_QUERY_DIRECTIVES',
    value: 1,
    query: ['{ workflows @include(if: true) { name } }', '{ workflows @include(if: true) { name @skip(if: false) } }'],
    subscription: (runId) => [
      follows(runId, '__typename @include(if: true)'),
      follows(runId, '__typename @include(if: true) __typename @skip(if: false)'),
    ],
  },
  {
    limit: 'MAX_QUERY_TOKENS',
    value: 12,
    query: [
      'query Q { workflows { name name name name name } }',
      'query Q { workflows { name name name name name name } }',
    ],
    subscription: (runId) => [follows(runId, '__typename'), follows(runId, '__typename __typename')],
  },
];

describe.each(queryLimits)('$limit', ({ limit, value, query, subscription }) => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ [limit]: String(value) });
  });
  const refusal = { code: 'LIMIT_EXCEEDED', limit, max: value } as const;

  if (limit === 'MAX_QUERY_TOKENS') {
    it('should be tested with documents of exactly the limit and one token more', () => {
      const [at, over] = subscription(ZERO_RUN);
      expect([tokenCount(query[0]), tokenCount(query[1]), tokenCount(at), tokenCount(over)]).toEqual([
        value,
        value + 1,
        value,
        value + 1,
      ]);
    });
  }

  it('should answer a query past it with LIMIT_EXCEEDED over HTTP, and serve one at it', async () => {
    expectServed(await answer('http', gateway, query[0]));
    expectRefused(await answer('http', gateway, query[1]), 'LIMIT_EXCEEDED', refusal);
  });

  it('should refuse a subscription past it with LIMIT_EXCEEDED over SSE, and stream one at it', async () => {
    const [at, over] = subscription(doneRun);
    expectWholeRun(await answer('sse', gateway, at));
    expectRefused(await answer('sse', gateway, over), 'LIMIT_EXCEEDED', refusal);
  });

  it('should serve a query and a subscription at it over graphql-ws', async () => {
    expectServed(await answer('graphql-ws', gateway, query[0]));
    expectWholeRun(await answer('graphql-ws', gateway, subscription(doneRun)[0]));
  });

  it('should refuse a query and a subscription past it with LIMIT_EXCEEDED over graphql-ws', async () => {
    expectRefused(await answer('graphql-ws', gateway, query[1]), 'LIMIT_EXCEEDED', refusal);
    expectRefused(await answer('graphql-ws', gateway, subscription(doneRun)[1]), 'LIMIT_EXCEEDED', refusal);
  });
});

describe('MAX_QUERY_ALIASES and __typename', () => {
  it("should not count aliases of __typename (graphql-armor's allow-list), but count those of real fields", async () => {
    const gateway = await startTestGateway({ MAX_QUERY_ALIASES: '1' });
    expectServed(await answer('http', gateway, '{ a: __typename b: __typename c: __typename }'));
    expectRefused(await answer('http', gateway, '{ a: workflows { name } b: workflows { name } }'), 'LIMIT_EXCEEDED', {
      limit: 'MAX_QUERY_ALIASES',
    });
  });
});

describe('INTROSPECTION=false', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ INTROSPECTION: 'false' });
  });
  const introspection = [
    '{ __schema { queryType { name } } }',
    '{ __type(name: "Query") { name } }',
    '{ ...Hidden } fragment Hidden on Query { __schema { types { name } } }',
  ];

  it.each(transports)(
    'should answer __schema and __type with FORBIDDEN (setting INTROSPECTION) over %s, and keep __typename',
    async (transport) => {
      for (const document of introspection) {
        expectRefused(await answer(transport, gateway, document), 'FORBIDDEN', { setting: 'INTROSPECTION' });
      }
      const typename = await answer(transport, gateway, '{ __typename workflows { __typename name } }');
      expectServed(typename);
      expect(typename.results[0]?.data).toMatchObject({ __typename: 'Query' });
    },
  );

  it('should hide field suggestions, which the default gateway gives', async () => {
    const hidden = await answer('http', gateway, '{ workflow { name } }');
    expect(hidden.results[0]?.errors?.[0]?.message).not.toContain('Did you mean');
    const shown = await answer('http', plain, '{ workflow { name } }');
    expect(shown.results[0]?.errors?.[0]?.message).toContain('Did you mean "workflows"');
  });

  it('should be on by default: __schema answers', async () => {
    for (const transport of transports) {
      const got = await answer(transport, plain, introspection[0] as string);
      expectServed(got);
      expect(got.results[0]?.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    }
  });
});

describe('GRAPHIQL', () => {
  const getHtml = (gateway: TestGateway) => fetch(gateway.url, { headers: { accept: 'text/html' } });

  it('should serve GraphiQL on GET with Accept text/html by default', async () => {
    const res = await getHtml(plain);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toMatch(/graphiql/i);
  });

  it('should not serve GraphiQL when GRAPHIQL=false, while GraphQL over GET still answers', async () => {
    const gateway = await startTestGateway({ GRAPHIQL: 'false' });
    const res = await getHtml(gateway);
    expect(res.status).not.toBe(200);
    expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
    expect(await res.text()).not.toMatch(/graphiql/i);
    const query = await fetch(`${gateway.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect([query.status, await query.json()]).toEqual([200, { data: { __typename: 'Query' } }]);
  });
});

describe('GATEWAY_WORKFLOWS', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ GATEWAY_WORKFLOWS: 'stream-text, not-registered' });
  });

  it('should list only the allowed workflows that the engine has', async () => {
    const got = await answer('http', gateway, '{ workflows { name } }');
    expect(got.results).toEqual([{ data: { workflows: [{ name: 'stream-text' }] } }]);
  });

  it.each(transports)(
    'should answer WORKFLOW_NOT_FOUND to an unlisted workflow the engine has over %s, and trigger a listed one',
    async (transport) => {
      for (const workflow of ['multi-step', 'not-registered']) {
        const refused = await answer(transport, gateway, TRIGGER, { workflow, input: QUICK });
        expectRefused(refused, 'WORKFLOW_NOT_FOUND');
        expect(refused.results[0]?.errors?.[0]?.message).toContain(workflow);
      }
      const served = await answer(transport, gateway, TRIGGER, { workflow: 'stream-text', input: QUICK });
      expectServed(served);
      runIdOf(served);
    },
  );
});

describe('MAX_INPUT_BYTES and MAX_INPUT_DEPTH', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ MAX_INPUT_BYTES: '64', MAX_INPUT_DEPTH: '3' });
  });
  const trigger = (transport: Transport, input: unknown, meta?: Vars) =>
    answer(transport, gateway, TRIGGER, { workflow: 'stream-text', input, ...(meta ? { meta } : {}) });

  it.each(transports)(
    'should answer LIMIT_EXCEEDED (MAX_INPUT_BYTES) to an input or metadata of 65 bytes over %s, and trigger with 64',
    async (transport) => {
      runIdOf(await trigger(transport, inputOfBytes(64)));
      const over = { limit: 'MAX_INPUT_BYTES', max: 64 };
      expectRefused(await trigger(transport, inputOfBytes(65)), 'LIMIT_EXCEEDED', over);
      // {"k":"..."}: 8 bytes around the value
      expectRefused(await trigger(transport, QUICK, { k: 'm'.repeat(57) }), 'LIMIT_EXCEEDED', over);
      runIdOf(await trigger(transport, QUICK, { k: 'm'.repeat(56) }));
    },
  );

  it('should count bytes, not characters', async () => {
    // 42 characters, 11 + 2 × 31 = 73 bytes
    expectRefused(await trigger('http', { delayMs: 0, text: 'é'.repeat(31) }), 'LIMIT_EXCEEDED', {
      limit: 'MAX_INPUT_BYTES',
    });
  });

  it.each(transports)(
    'should answer LIMIT_EXCEEDED (MAX_INPUT_DEPTH) to an input nested 4 deep over %s, and trigger with 3',
    async (transport) => {
      runIdOf(await trigger(transport, { ...QUICK, extra: { list: [1] } }));
      const over = { limit: 'MAX_INPUT_DEPTH', max: 3 };
      expectRefused(await trigger(transport, { ...QUICK, extra: { list: [[1]] } }), 'LIMIT_EXCEEDED', over);
      expectRefused(await trigger(transport, { ...QUICK, a: { b: { c: {} } } }), 'LIMIT_EXCEEDED', over);
    },
  );
});

describe('MAX_REQUEST_BYTES', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ MAX_REQUEST_BYTES: '2048' });
  });
  /** A body of exactly `bytes` bytes: a small query padded with spaces. */
  const bodyOf = (bytes: number) => {
    const bare = JSON.stringify({ query: '{ __typename }' });
    const body = JSON.stringify({ query: `{ __typename }${' '.repeat(bytes - Buffer.byteLength(bare))}` });
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  };
  const post = (body: BodyInit, accept: string, extra: Partial<RequestInit> = {}) =>
    fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body, ...extra });
  const tooLarge = {
    errors: [{ extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_REQUEST_BYTES', max: 2048 } }],
  };

  it('should answer HTTP 413 with LIMIT_EXCEEDED to a body of 2049 bytes, and serve one of 2048', async () => {
    const at = await post(bodyOf(2048), 'application/graphql-response+json');
    expect([at.status, await at.json()]).toEqual([200, { data: { __typename: 'Query' } }]);
    const over = await post(bodyOf(2049), 'application/graphql-response+json');
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject(tooLarge);
  });

  it('should answer HTTP 413 with LIMIT_EXCEEDED to an SSE request of 2049 bytes, and stream one of 2048', async () => {
    const at = await sseRequest(gateway, bodyOf(2048));
    expect([at.status, await at.rest()]).toEqual([200, [{ data: { __typename: 'Query' } }]]);
    const over = await sseRequest(gateway, bodyOf(2049));
    expect(over.status).toBe(413);
    expect(await over.rest()).toMatchObject([tooLarge]);
  });

  // a body of unknown length could be of any size: refused before it is read
  it('should answer HTTP 411 with LIMIT_EXCEEDED to a chunked body (no Content-Length)', async () => {
    const body = new TextEncoder().encode(bodyOf(4096));
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    const res = await post(chunked, 'application/graphql-response+json', { duplex: 'half' } as Partial<RequestInit>);
    expect(res.status).toBe(411);
    expect(await res.json()).toMatchObject({
      errors: [{ extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_REQUEST_BYTES' } }],
    });
  });
});

describe('TRIGGER_RATE_LIMIT', () => {
  it('should answer RATE_LIMITED (HTTP 429, retryAfterMs) to the third trigger of a key in a minute on every transport, while another key triggers', async () => {
    const gateway = await startTestGateway({ GATEWAY_API_KEYS: KEYS, TRIGGER_RATE_LIMIT: '2' });
    const trigger = (transport: Transport, credential: string) =>
      answer(transport, gateway, TRIGGER, { workflow: 'stream-text', input: QUICK }, credential);

    runIdOf(await trigger('http', APP));
    runIdOf(await trigger('graphql-ws', APP));
    for (const transport of transports) {
      const refused = await trigger(transport, APP);
      expectRefused(refused, 'RATE_LIMITED', { limit: 'TRIGGER_RATE_LIMIT' });
      if (transport !== 'graphql-ws') expect(refused.status).toBe(429);
      const retryAfterMs = refused.results[0]?.errors?.[0]?.extensions?.['retryAfterMs'];
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    runIdOf(await trigger('sse', OTHER));
    runIdOf(await trigger('http', OTHER));
    expectRefused(await trigger('graphql-ws', OTHER), 'RATE_LIMITED', { limit: 'TRIGGER_RATE_LIMIT' });
  });
});

describe('MAX_SUBSCRIPTIONS_PER_CONNECTION', () => {
  it('should refuse the third concurrent operation on one graphql-ws connection with LIMIT_EXCEEDED while the first two keep running', async () => {
    const gateway = await startTestGateway({ MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    const text = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const runId = await triggerRun(gateway, 'stream-text', { text, chunkSize: 1, delayMs: 100 });
    let connections = 0;
    let closes = 0;
    const client = wsClient(gateway, {
      lazy: false,
      onNonLazyError: () => {},
      on: {
        connected: () => {
          connections++;
        },
        closed: () => {
          closes++;
        },
      },
    });

    interface Follower {
      readonly results: Result[];
      readonly first: Promise<void>;
      readonly ended: Promise<'complete' | unknown>;
    }
    const follow = (): Follower => {
      const results: Result[] = [];
      let gotFirst = () => {};
      const first = new Promise<void>((resolve) => {
        gotFirst = resolve;
      });
      const ended = new Promise((resolve) => {
        client.subscribe(
          { query: FOLLOW, variables: { runId } },
          {
            next: (value) => {
              results.push(value as Result);
              gotFirst();
            },
            error: resolve,
            complete: () => resolve('complete'),
          },
        );
      });
      return { results, first, ended };
    };

    const running = [follow(), follow()];
    await Promise.all(running.map((f) => f.first));
    const third = follow();
    expect(await third.ended).toMatchObject([
      { extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_SUBSCRIPTIONS_PER_CONNECTION', max: 2 } },
    ]);
    const seenAtRefusal = running.map((f) => f.results.length);

    expect(await Promise.all(running.map((f) => f.ended))).toEqual(['complete', 'complete']);
    running.forEach((f, i) => {
      expect(f.results.length).toBeGreaterThan(seenAtRefusal[i] as number);
      const events = f.results.map((r) => r.data?.['workflowRunEvents'] as { __typename: string; data?: string });
      expect(
        events
          .filter((e) => e.__typename === 'StreamChunkEvent')
          .map((e) => e.data)
          .join(''),
      ).toBe(text);
      expect(events.at(-1)).toEqual({ __typename: 'RunStatusEvent', status: 'COMPLETED' });
    });

    // their slots are free again, on the same connection
    const after = follow();
    expect(await after.ended).toBe('complete');
    expect(after.results.at(-1)?.data?.['workflowRunEvents']).toMatchObject({ __typename: 'RunStatusEvent' });
    expect([connections, closes]).toEqual([1, 0]);
  });
});

describe('MAX_CONNECTIONS_PER_KEY', () => {
  const settings: Partial<Record<keyof Config, string>> = { GATEWAY_API_KEYS: KEYS, MAX_CONNECTIONS_PER_KEY: '2' };

  /** A graphql-ws connection held open; `outcome` is 'connected' or the close code. */
  function connect(gateway: TestGateway, credential: string) {
    let settle: (outcome: 'connected' | number) => void = () => {};
    const outcome = new Promise<'connected' | number>((resolve) => {
      settle = resolve;
    });
    const client = wsClient(gateway, {
      lazy: false,
      connectionParams: { authorization: `Bearer ${credential}` },
      onNonLazyError: () => {},
      on: {
        connected: () => settle('connected'),
        closed: (event) => settle((event as { code: number }).code),
      },
    });
    return { outcome, dispose: () => client.dispose() };
  }

  /**
   * Connects until a slot is free: the server releases a slot when it sees the
   * socket close, which can come just after the client saw it.
   */
  async function connectOnceFree(gateway: TestGateway, credential: string) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const connection = connect(gateway, credential);
      const outcome = await connection.outcome;
      if (outcome === 'connected') return connection;
      expect(outcome).toBe(4429);
      await connection.dispose();
    }
    throw new Error('no connection slot came free');
  }

  /** Opens an SSE stream following `runId`; resolves with it and its first payload. */
  async function sseFollow(gateway: TestGateway, runId: string, credential: string) {
    const stream = await openSse(gateway, FOLLOW, { runId }, credential);
    let event = await stream.next();
    while (event && event.event !== 'next') event = await stream.next();
    return { stream, first: event ? (JSON.parse(event.data) as Result) : undefined };
  }

  async function sseFollowOnceFree(gateway: TestGateway, runId: string, credential: string) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { stream, first } = await sseFollow(gateway, runId, credential);
      if (first?.data) return stream;
      expect(first?.errors?.[0]?.extensions).toMatchObject({ limit: 'MAX_CONNECTIONS_PER_KEY' });
      stream.close();
    }
    throw new Error('no connection slot came free for an SSE stream');
  }

  it('should close the third graphql-ws connection of a key with 4429, refuse an SSE stream past it with LIMIT_EXCEEDED, and free a slot when one closes', async () => {
    const gateway = await startTestGateway(settings);
    // a run that streams for about 10 s, for SSE streams to hold a slot with
    const runId = runIdOf(
      await answer(
        'http',
        gateway,
        TRIGGER,
        { workflow: 'stream-text', input: { text: 'y'.repeat(200), chunkSize: 1, delayMs: 50 } },
        APP,
      ),
    );

    const first = connect(gateway, APP);
    const second = connect(gateway, APP);
    expect(await Promise.all([first.outcome, second.outcome])).toEqual(['connected', 'connected']);
    expect(await connect(gateway, APP).outcome).toBe(4429);

    // an SSE stream is a connection too
    const refused = await sseFollow(gateway, runId, APP);
    expect(refused.first).toMatchObject({
      errors: [{ extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_CONNECTIONS_PER_KEY', max: 2 } }],
    });
    refused.stream.close();

    // other keys have slots of their own; plain HTTP requests are no connections
    const other = connect(gateway, OTHER);
    expect(await other.outcome).toBe('connected');
    expect((await http(gateway, '{ workflows { name } }', {}, APP)).body.errors).toBeUndefined();

    // closing a graphql-ws connection frees its slot: for a new socket, then for an SSE stream
    await first.dispose();
    const third = await connectOnceFree(gateway, APP);
    await second.dispose();
    const stream = await sseFollowOnceFree(gateway, runId, APP);
    expect(await connect(gateway, APP).outcome).toBe(4429);

    // closing an SSE stream frees its slot
    stream.close();
    const again = await sseFollowOnceFree(gateway, runId, APP);
    again.close();
    await third.dispose();
    await http(gateway, CANCEL, { id: runId }, APP);
  });

  it('should not count connections when authentication is off', async () => {
    const gateway = await startTestGateway({ MAX_CONNECTIONS_PER_KEY: '1' });
    const held = [connect(gateway, APP), connect(gateway, APP), connect(gateway, APP)];
    expect(await Promise.all(held.map((c) => c.outcome))).toEqual(['connected', 'connected', 'connected']);
    expectWholeRun(await answer('sse', gateway, FOLLOW, { runId: doneRun }));
  });
});
