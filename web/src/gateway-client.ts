/**
 * The page's link to the gateway: queries and mutations over HTTP, and runs
 * followed over graphql-ws. A followed run survives dropped sockets: it keeps
 * the cursor of the last event it handed over and resubscribes with `after`
 * set to it, so nothing is missed and nothing is repeated. It never
 * resubscribes from the start once it has a cursor, unless the gateway says
 * that cursor expired (and then it says so, so the view can start over).
 *
 * With authentication on, HTTP requests carry the API key and a followed run
 * carries only its run token (graphql-ws `connectionParams`), never the key.
 * When the token expires mid-run (TOKEN_EXPIRED) or a connection is refused
 * for its token (4401, 4403), the follower asks for a fresh one and resumes
 * with the same cursor.
 */
import { type Client, createClient } from 'graphql-ws/client';
import type {
  PageRunEventsSubscription,
  PageRunEventsSubscriptionVariables,
  TypedDocumentString,
} from './generated/graphql.js';
import { RUN_EVENTS } from './operations.js';

/** One event of a run, as RUN_EVENTS selects it. */
export type RunEvent = PageRunEventsSubscription['workflowRunEvents'];

interface GraphQLErrorLike {
  readonly message: string;
  readonly extensions?: { readonly code?: unknown } | null;
}

/** A GraphQL error the gateway answered with; `code` is its `extensions.code`. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(code ? `${message} (${code})` : message);
  }

  static from(errors: readonly GraphQLErrorLike[]): GatewayError {
    const [first] = errors;
    const code = first?.extensions?.code;
    return new GatewayError(typeof code === 'string' ? code : undefined, first?.message ?? 'unknown error');
  }
}

/**
 * Sends a query or mutation over HTTP POST and returns its data, or throws a
 * GatewayError. `credential`: an API key, sent as `Authorization: Bearer`.
 */
export async function request<TResult, TVariables>(
  endpoint: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  credential?: string,
): Promise<TResult> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  let body: { data?: TResult | null; errors?: GraphQLErrorLike[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new GatewayError(undefined, `HTTP ${response.status} from ${endpoint}`);
  }
  if (body.errors?.length) throw GatewayError.from(body.errors);
  if (!body.data) throw new GatewayError(undefined, `HTTP ${response.status} without data`);
  return body.data;
}

/** Where the link to a followed run stands. */
export type ConnectionState =
  | { readonly kind: 'connecting' }
  /** Subscribed; `resumedFrom` is the cursor it resumed after, when it resumed. */
  | { readonly kind: 'live'; readonly resumedFrom?: string }
  /** The socket went away; the next try starts in `delayMs`. */
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  /** The run token expired (or was refused) and a fresh one, valid until `expiresAt`, replaced it. */
  | { readonly kind: 'token-renewed'; readonly reason: string; readonly expiresAt: string }
  /** The run's terminal event arrived and the subscription completed. */
  | { readonly kind: 'done' }
  /** The gateway refused the subscription for good (e.g. RUN_NOT_FOUND). */
  | { readonly kind: 'failed'; readonly error: GatewayError }
  | { readonly kind: 'stopped' };

/** A run token as `triggerWorkflow` and `createRunToken` return it. */
export interface RunToken {
  readonly token: string;
  readonly expiresAt: string;
}

export interface FollowRunOptions {
  readonly wsUrl: string;
  readonly runId: string;
  /** The run token from the trigger; undefined when the page has none (after a reload). */
  readonly token: string | undefined;
  /** Mints a fresh run token (`createRunToken`, with the API key); rejects with a GatewayError when refused. */
  readonly renewToken: () => Promise<RunToken>;
  readonly onEvent: (event: RunEvent) => void;
  readonly onConnection: (state: ConnectionState) => void;
  /** The gateway no longer keeps what followed the cursor: the replay starts over from the run's first kept event. */
  readonly onRestart: () => void;
}

export interface RunFollower {
  /** The cursor of the last event handed to `onEvent`. */
  readonly cursor: () => string | undefined;
  /** Closes the socket as a network failure would, to see the resume at work. */
  dropConnection(): boolean;
  stop(): void;
}

/** A drop the page asked for (a code applications may use, 4000-4999). */
const DROPPED_BY_PAGE = 4000;
const RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];
/** Error codes after which subscribing again, with the same cursor, is the cure. */
const TRANSIENT_CODES = new Set(['SHUTTING_DOWN', 'ENGINE_UNAVAILABLE']);
/** graphql-ws closes a connection with these when its credential is missing (4401) or not valid (4403). */
const REFUSED_CLOSE_CODES = new Set([4401, 4403]);

/**
 * Follows a run until its terminal event, resubscribing with the last cursor
 * whenever the socket drops, and with a fresh run token whenever the gateway
 * says the token expired.
 */
export function followRun({
  wsUrl,
  runId,
  token: initialToken,
  renewToken,
  onEvent,
  onConnection,
  onRestart,
}: FollowRunOptions): RunFollower {
  let token = initialToken;
  // a refused connection right after a renewal is not cured by another one
  let renewedSinceLive = false;
  let socket: WebSocket | undefined;
  let cursor: string | undefined;
  let failures = 0;
  // events of an abandoned subscription must not reach the view: the next one repeats them after the cursor
  let generation = 0;
  let unsubscribe: () => void = () => {};
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let resumedFrom: string | undefined;
  let liveGeneration = 0;
  let finished = false;

  const markLive = () => {
    renewedSinceLive = false;
    if (finished || liveGeneration === generation) return;
    liveGeneration = generation;
    onConnection(resumedFrom ? { kind: 'live', resumedFrom } : { kind: 'live' });
  };

  // one client per run token, never retrying on its own: graphql-ws would resubscribe with the first `after`
  const connect = (): Client =>
    createClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: 0,
      // the run token, never the API key: a browser should only ever hold the former
      ...(token ? { connectionParams: { authorization: `Bearer ${token}` } } : {}),
      on: {
        connected: (connected) => {
          socket = connected as WebSocket;
          failures = 0;
          markLive();
        },
        closed: () => {
          socket = undefined;
        },
      },
    });
  let client = connect();

  const finish = (state: ConnectionState) => {
    finished = true;
    generation++;
    clearTimeout(retryTimer);
    unsubscribe();
    void client.dispose();
    onConnection(state);
  };

  const retry = (reason: string) => {
    generation++;
    unsubscribe();
    const delayMs = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)] ?? 8_000;
    failures++;
    onConnection({ kind: 'reconnecting', attempt: failures, delayMs, reason });
    retryTimer = setTimeout(subscribe, delayMs);
  };

  // a fresh token opens a fresh connection (the gateway checks a socket's credential once, when it opens)
  const renew = async (reason: string) => {
    const current = ++generation;
    unsubscribe();
    let fresh: RunToken;
    try {
      fresh = await renewToken();
    } catch (error) {
      if (current !== generation) return;
      if (error instanceof GatewayError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) {
        return finish({ kind: 'failed', error });
      }
      return retry(`could not renew the run token (${error instanceof Error ? error.message : String(error)})`);
    }
    if (current !== generation) return;
    token = fresh.token;
    renewedSinceLive = true;
    void client.dispose();
    client = connect();
    onConnection({ kind: 'token-renewed', reason, expiresAt: fresh.expiresAt });
    subscribe();
  };

  function subscribe(): void {
    const current = ++generation;
    resumedFrom = cursor;
    let ended = false;
    let refused: GatewayError | undefined;
    onConnection({ kind: 'connecting' });
    const variables: PageRunEventsSubscriptionVariables = { runId, after: cursor ?? null };
    unsubscribe = client.subscribe<PageRunEventsSubscription>(
      { query: RUN_EVENTS.toString(), variables },
      {
        next: (result) => {
          if (current !== generation) return;
          if (result.errors?.length) {
            refused = GatewayError.from(result.errors);
            return;
          }
          const event = result.data?.workflowRunEvents;
          if (!event) return;
          markLive();
          cursor = event.cursor;
          if (event.__typename === 'RunStatusEvent') ended = true;
          onEvent(event);
        },
        error: (error: unknown) => {
          if (current !== generation) return;
          if (Array.isArray(error)) return settle(GatewayError.from(error as GraphQLErrorLike[]));
          const code = closeCode(error);
          if (code !== undefined && REFUSED_CLOSE_CODES.has(code)) {
            if (!renewedSinceLive) return void renew(`${describeClose(error)}: the gateway wants a run token`);
            return finish({
              kind: 'failed',
              error: new GatewayError('UNAUTHENTICATED', `The gateway refused the run token: ${describeClose(error)}`),
            });
          }
          retry(describeClose(error));
        },
        complete: () => {
          if (current !== generation) return;
          if (ended) return finish({ kind: 'done' });
          settle(refused);
        },
      },
    );

    // the subscription ended without the run's terminal event
    function settle(error: GatewayError | undefined): void {
      if (!error) {
        retry('the subscription ended early');
      } else if (error.code === 'CURSOR_EXPIRED') {
        cursor = undefined;
        onRestart();
        retry('the gateway no longer keeps that cursor; replaying the run');
      } else if (error.code === 'TOKEN_EXPIRED') {
        void renew('the run token expired');
      } else if (error.code && TRANSIENT_CODES.has(error.code)) {
        retry(error.message);
      } else {
        finish({ kind: 'failed', error });
      }
    }
  }

  subscribe();
  return {
    cursor: () => cursor,
    dropConnection: () => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return false;
      socket.close(DROPPED_BY_PAGE, 'Dropped by the page');
      return true;
    },
    stop: () => {
      if (!finished) finish({ kind: 'stopped' });
    },
  };
}

function closeCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'number' ? code : undefined;
}

function describeClose(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `socket closed (${String(code)}${typeof reason === 'string' && reason ? `: ${reason}` : ''})`;
  }
  if (error instanceof Error) return error.message;
  return 'socket error';
}
