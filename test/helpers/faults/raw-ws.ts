/**
 * A bare graphql-ws (`graphql-transport-ws`) connection over a raw `ws` socket,
 * for fault tests that need what a client library hides: several operations
 * on one socket, dropping the TCP connection without a close handshake, and
 * the exact close code the server chose. Also `followRun`, one subscription to
 * a run that records every event, error and how it ended.
 */
import WebSocket from 'ws';
import { RUN_EVENTS, type WireEvent } from '../operations.js';

export interface WireError {
  message: string;
  extensions?: { code?: string };
}

export interface OperationHandlers {
  next?(payload: { data?: Record<string, unknown> | null; errors?: WireError[] }): void;
  error?(errors: WireError[]): void;
  complete?(): void;
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export class RawGraphqlWs {
  readonly #socket: WebSocket;
  readonly #operations = new Map<string, OperationHandlers>();
  /** Resolves once the socket closed (either side, or a drop), with the close code. */
  readonly closed: Promise<Closed>;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.once('close', (code, reason) => resolve({ code, reason: String(reason) }));
    });
    socket.on('error', () => {}); // a refused or dropped connection shows as its close
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { id?: string; type: string; payload?: unknown };
      const handlers = message.id === undefined ? undefined : this.#operations.get(message.id);
      if (!handlers || message.id === undefined) return;
      if (message.type === 'next')
        handlers.next?.(message.payload as Parameters<Required<OperationHandlers>['next']>[0]);
      if (message.type === 'error') {
        this.#operations.delete(message.id);
        handlers.error?.(message.payload as WireError[]);
      }
      if (message.type === 'complete') {
        this.#operations.delete(message.id);
        handlers.complete?.();
      }
    });
  }

  /** Opens a socket and resolves once the server acknowledged the connection; rejects if it closed first. */
  static connect(url: string, timeoutMs = 10_000): Promise<RawGraphqlWs> {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const connection = new RawGraphqlWs(socket);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no connection_ack from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAck = (raw: WebSocket.RawData) => {
        if ((JSON.parse(String(raw)) as { type: string }).type !== 'connection_ack') return;
        clearTimeout(timer);
        socket.off('message', onAck);
        resolve(connection);
      };
      socket.on('message', onAck);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      void connection.closed.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`socket to ${url} closed with ${code} before connection_ack`));
      });
    });
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  subscribe(id: string, payload: { query: string; variables?: Record<string, unknown> }, handlers: OperationHandlers) {
    this.#operations.set(id, handlers);
    this.#socket.send(JSON.stringify({ id, type: 'subscribe', payload }));
  }

  /** Unsubscribes: the server stops the operation and sends nothing more for it. */
  complete(id: string): void {
    this.#operations.delete(id);
    if (this.open) this.#socket.send(JSON.stringify({ id, type: 'complete' }));
  }

  /** Drops the TCP connection without a close handshake, as a network failure would. */
  terminate(): void {
    this.#socket.terminate();
  }

  /** Closes with a normal close handshake. */
  close(): void {
    this.#socket.close(1000, 'bye');
  }
}

export type FollowEnd =
  | { readonly how: 'complete' }
  | { readonly how: 'error'; readonly errors: WireError[] }
  | { readonly how: 'closed'; readonly code: number };

export interface Follow {
  /** The events received, in order. */
  readonly events: WireEvent[];
  /** Error results received (a `next` without data, or an `error` message). */
  readonly errors: WireError[];
  /** How the subscription ended; the socket is closed (or dropped) by then. */
  readonly ended: Promise<FollowEnd>;
  lastCursor(): string | undefined;
  /** Drops the connection (TCP) at once. */
  terminate(): void;
}

/**
 * Follows `runId` (after `after`) on its own socket until the subscription
 * completes, fails or the socket closes. `onEvent` sees each event as it comes.
 */
export function followRun(
  wsUrl: string,
  runId: string,
  { after, onEvent }: { after?: string | undefined; onEvent?: (event: WireEvent, follow: Follow) => void } = {},
): Follow {
  const events: WireEvent[] = [];
  const errors: WireError[] = [];
  let connection: RawGraphqlWs | undefined;
  let dropped = false;
  const follow: Follow = {
    events,
    errors,
    ended: undefined as unknown as Promise<FollowEnd>,
    lastCursor: () => events.at(-1)?.cursor,
    terminate: () => {
      dropped = true;
      connection?.terminate();
    },
  };
  (follow as { ended: Promise<FollowEnd> }).ended = (async (): Promise<FollowEnd> => {
    try {
      connection = await RawGraphqlWs.connect(wsUrl);
    } catch {
      return { how: 'closed', code: 1006 };
    }
    if (dropped) connection.terminate();
    const socket = connection;
    const end = await new Promise<FollowEnd>((resolve) => {
      socket.subscribe(
        '1',
        { query: RUN_EVENTS, variables: { runId, ...(after ? { after } : {}) } },
        {
          next: (payload) => {
            const event = payload.data?.['workflowRunEvents'] as WireEvent | undefined;
            if (event) {
              events.push(event);
              onEvent?.(event, follow);
            }
            if (payload.errors) errors.push(...payload.errors);
          },
          error: (list) => {
            errors.push(...list);
            resolve({ how: 'error', errors: list });
          },
          complete: () => resolve({ how: 'complete' }),
        },
      );
      void socket.closed.then(({ code }) => resolve({ how: 'closed', code }));
    });
    if (socket.open) socket.close();
    await socket.closed;
    return end;
  })();
  return follow;
}
