/**
 * A real gateway on a free port, wired to the real engine of the global setup,
 * and the clients tests use against it. Every gateway and client made here is
 * disposed by `disposeAll()` (call it in afterAll / afterEach).
 */
import { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { type Client, createClient as createWsClient } from 'graphql-ws';
import { pino } from 'pino';
import { inject } from 'vitest';
import WebSocket from 'ws';
import { type Config, loadConfig } from '../../src/config.js';
import { ordersFinish } from '../../src/engine/connect-engine.js';
import { createHatchetAdapter } from '../../src/engine/hatchet-adapter.js';
import type { RunSource, WorkflowGateway } from '../../src/runs/run-source.js';
import { type Gateway, startGateway } from '../../src/server/create-gateway.js';
import { RUN_EVENTS, TRIGGER } from './operations.js';

const disposers: Array<() => Promise<void> | void> = [];

/** A Hatchet client for the test engine, as an app would make one with a token; `at` points it elsewhere. */
export function engineClient(at?: { hostPort: string; apiUrl: string }): HatchetClient {
  const engine = inject('engine');
  return HatchetClient.init({
    token: engine.token,
    host_port: at?.hostPort ?? engine.hostPort,
    api_url: at?.apiUrl ?? engine.apiUrl,
    tenant_id: engine.tenantId,
    tls_config: { tls_strategy: 'none' },
    log_level: 'ERROR',
  });
}

export interface TestGateway extends Gateway {
  readonly hatchet: HatchetClient;
  readonly wsUrl: string;
}

/**
 * Starts a gateway on 127.0.0.1 and a free port; overrides apply to its
 * config; `wrap` lets a test come between the gateway and the real engine
 * (to cut its listener, say).
 */
export async function startTestGateway(
  overrides: Partial<Record<keyof Config, string>> = {},
  hatchet: HatchetClient = engineClient(),
  wrap: (engine: RunSource & WorkflowGateway) => RunSource & WorkflowGateway = (engine) => engine,
): Promise<TestGateway> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', RECONCILE_INTERVAL_MS: '500', ...overrides });
  const gateway = await startGateway({
    config,
    engine: wrap(createHatchetAdapter(hatchet)),
    // TEST_LOG_LEVEL=debug shows what a test's gateway logs (on stderr)
    logger: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }, pino.destination(2)),
    orderedFinish: ordersFinish(config.ENGINE_ORDERED_FINISH, inject('engine').patches),
  });
  disposers.push(() => gateway.stop());
  return { ...gateway, stop: gateway.stop, hatchet, wsUrl: gateway.url.replace(/^http/, 'ws') };
}

/** A graphql-ws client that never retries (tests want to see every close). */
export function wsClient(gateway: TestGateway, options: Partial<Parameters<typeof createWsClient>[0]> = {}): Client {
  const client = createWsClient({
    url: gateway.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...options,
  });
  disposers.push(() => client.dispose());
  return client;
}

export async function disposeAll(): Promise<void> {
  while (disposers.length > 0) await disposers.pop()?.();
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** One query or mutation over HTTP POST; returns the HTTP status and body. */
export async function httpGraphQL<T = Record<string, unknown>>(
  gateway: Pick<Gateway, 'url'>,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; body: GraphQLResponse<T> }> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponse<T> };
}

/** A single result of a query or mutation over graphql-ws. */
export function wsQuery<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse<T>> {
  return new Promise((resolve, reject) => {
    let result: GraphQLResponse<T> | undefined;
    client.subscribe<T>(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (value) => {
          result = value as GraphQLResponse<T>;
        },
        error: reject,
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}

/** Everything a subscription yields until it completes (or fails), with a timeout. */
export function collect<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  {
    timeoutMs = 30_000,
    stopAfter,
  }: { timeoutMs?: number; stopAfter?: (results: GraphQLResponse<T>[]) => boolean } = {},
): Promise<GraphQLResponse<T>[]> {
  return new Promise((resolve, reject) => {
    const results: GraphQLResponse<T>[] = [];
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`subscription did not complete within ${timeoutMs} ms; got ${results.length} results`));
    }, timeoutMs);
    const unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          results.push(value as GraphQLResponse<T>);
          if (stopAfter?.(results)) {
            clearTimeout(timer);
            unsubscribe();
            resolve(results);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error);
        },
        complete: () => {
          clearTimeout(timer);
          resolve(results);
        },
      },
    );
  });
}

/** Triggers `workflow` over HTTP and returns the run id (fails the test on an error). */
export async function triggerRun(
  gateway: Pick<Gateway, 'url'>,
  workflow: string,
  input: Record<string, unknown> = {},
): Promise<string> {
  const { body } = await httpGraphQL<{ triggerWorkflow: { runId: string } }>(gateway, TRIGGER, { workflow, input });
  if (!body.data) throw new Error(`trigger failed: ${JSON.stringify(body.errors)}`);
  return body.data.triggerWorkflow.runId;
}

/** A subscription kept on a socket that stays open, to watch the server end both. */
export interface WatchedSubscription {
  /** Resolves at the first result. */
  readonly first: Promise<void>;
  /** Resolves with how the subscription ended. */
  readonly ended: Promise<'complete' | 'error'>;
  /** `extensions.code` of every error result, in order. */
  readonly errorCodes: string[];
  /** The close code, once the socket closed. */
  closeCode(): number | undefined;
  dispose(): Promise<void>;
}

/**
 * Follows `runId` over a non-lazy graphql-ws client: its socket stays open
 * after the subscription ends, so a test sees the server close it.
 */
export function watchRun(wsUrl: string, runId: string): WatchedSubscription {
  let closeCode: number | undefined;
  const client = createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {}, // the close is what the test waits for
    on: {
      closed: (event) => {
        closeCode = (event as { code: number }).code;
      },
    },
  });
  const errorCodes: string[] = [];
  let gotFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    gotFirst = resolve;
  });
  const ended = new Promise<'complete' | 'error'>((resolve) => {
    client.subscribe(
      { query: RUN_EVENTS, variables: { runId } },
      {
        next: (value) => {
          const code = (value.errors?.[0]?.extensions as { code?: string } | undefined)?.code;
          if (code) errorCodes.push(code);
          gotFirst();
        },
        error: () => resolve('error'),
        complete: () => resolve('complete'),
      },
    );
  });
  return {
    first,
    ended,
    errorCodes,
    closeCode: () => closeCode,
    dispose: async () => {
      await client.dispose();
    },
  };
}
