/**
 * graphql-ws (`graphql-transport-ws`) on the gateway's HTTP server, wired
 * through yoga's envelop so the same schema, context, masking and plugins
 * apply to WebSocket operations as to HTTP and SSE.
 */
import type { Server } from 'node:http';
import { type ExecutionArgs, type FormattedExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import { credentialOf } from '../auth/authenticate.js';
import type { GatewayAuth } from '../auth/gateway-auth.js';
import { type Principal, principalName } from '../auth/principal.js';
import { GatewayError } from '../errors.js';
import { withRequestErrorCode } from './error-codes.js';

/** What a connection carries beside graphql-ws's own `extra` (socket, request). */
interface ConnectionExtra {
  readonly socket: { close(code: number, reason: string): void; readonly readyState: number };
  principal?: Principal;
  release?: () => void;
}

type Enveloped = ReturnType<YogaServerInstance<Record<string, unknown>, Record<string, unknown>>['getEnveloped']>;

interface EnvelopedRoot {
  execute: Enveloped['execute'];
  subscribe: Enveloped['subscribe'];
}

export interface GraphqlWsServer {
  /** The ws server (closed by the caller). */
  readonly server: WebSocketServer;
  /** Operations not yet completed on the wire (their `complete` message is sent before they leave the count). */
  openOperations(): number;
}

/** Attaches graphql-ws to `server` at `path`. */
export function attachGraphqlWs(
  server: Server,
  path: string,
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>,
  auth: GatewayAuth,
  allowedOrigins: readonly string[] = [],
): GraphqlWsServer {
  // operations are small: a megabyte is plenty, and ws's default (100 MiB) is an easy memory attack
  const wsServer = new WebSocketServer({
    server,
    path,
    maxPayload: 1024 * 1024,
    // browsers send Origin and WebSockets have no CORS: refuse other sites' pages
    // (non-browser clients send no Origin)
    verifyClient: (info, done) => {
      const { origin } = info;
      if (!origin || allowedOrigins.includes(origin) || sameHost(origin, info.req.headers.host)) return done(true);
      done(false, 403, 'Origin not allowed');
    },
  });
  // graphql-ws keeps an operation in ctx.subscriptions until its `complete` is sent:
  // shutdown waits on that, not on the iterator's end, before closing sockets
  const connections = new Set<{ subscriptions: Record<string, unknown> }>();
  // graphql-ws closes with 4500 (its internal error) when a client sends a message
  // only a server may send; that is a protocol violation of the client's: 4400.
  // This listener is registered before graphql-ws's, so it sees the message first.
  wsServer.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let type: unknown;
      try {
        type = (JSON.parse(String(data)) as { type?: unknown } | null)?.type;
      } catch {
        return; // graphql-ws answers malformed JSON itself (4400)
      }
      if (type === 'next' || type === 'error' || type === 'connection_ack') {
        socket.close(4400, `Invalid message received: a client may not send ${type}`);
      }
    });
  });
  useServer(
    {
      // the connection's credential is checked once, at connection_init: 4401 without
      // one, 4403 for a bad one, 4429 past the key's connection limit
      onConnect: async (ctx) => {
        const extra = ctx.extra as ConnectionExtra;
        let principal: Principal;
        try {
          principal = await auth.authenticator.authenticate(credentialOf(ctx.connectionParams));
        } catch (error) {
          if (!(error instanceof GatewayError)) throw error;
          const missing = error.extensions['reason'] === 'MISSING_CREDENTIAL';
          extra.socket.close(missing ? 4401 : 4403, missing ? 'Unauthorized' : 'Forbidden');
          return false;
        }
        // the client may have left while its token was checked: onClose has run already
        if (extra.socket.readyState !== WebSocket.OPEN) return false;
        if (principal.kind !== 'open') {
          const release = auth.connections.acquire(principalName(principal));
          if (!release) {
            extra.socket.close(4429, 'Too many connections for this key');
            return false;
          }
          extra.release = release;
        }
        extra.principal = principal;
        connections.add(ctx);
        return true;
      },
      // `extensions.http` tells yoga an HTTP status; a WebSocket message has none
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return;
        const { errors, ...rest } = result;
        return { ...rest, errors: errors.map((e) => forTheWire(e).toJSON()) } as FormattedExecutionResult;
      },
      onClose: (ctx) => {
        connections.delete(ctx);
        (ctx.extra as ConnectionExtra).release?.();
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        // ctx.subscriptions already holds this operation
        if (Object.keys(ctx.subscriptions).length > auth.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${auth.maxSubscriptionsPerConnection} operations at once on one connection.`, {
              extensions: {
                code: 'LIMIT_EXCEEDED',
                limit: 'MAX_SUBSCRIPTIONS_PER_CONNECTION',
                max: auth.maxSubscriptionsPerConnection,
              },
            }),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal: (ctx.extra as ConnectionExtra).principal,
        });
        // parse and validation rules may throw their GraphQLError (graphql-armor's
        // limits do) instead of returning it: either way it is the client's error
        let document: ReturnType<typeof parse>;
        let errors: readonly GraphQLError[];
        try {
          document = parse(params.query);
          errors = validate(schema, document);
        } catch (error) {
          if (error instanceof Error && error.name === 'GraphQLError')
            return [forTheWire(withRequestErrorCode(error as GraphQLError))];
          // e.g. a RangeError from a document the parser could not take: this
          // operation's failure, not the connection's (which would close with 4500)
          return [
            new GraphQLError('The document could not be parsed.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } }),
          ];
        }
        if (errors.length > 0) return errors.map((e) => forTheWire(withRequestErrorCode(e)));
        // graphql-ws would answer an uncoded "Unable to identify operation"; HTTP answers this code
        if (!getOperationAST(document, params.operationName ?? undefined)) {
          return [
            new GraphQLError(
              params.operationName
                ? `No operation named "${params.operationName.slice(0, 100)}" in the document.`
                : 'The document has several operations: name the one to run (operationName).',
              { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
            ),
          ];
        }
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
        return args;
      },
    },
    wsServer,
  );
  return {
    server: wsServer,
    openOperations: () => {
      let open = 0;
      for (const ctx of connections) open += Object.keys(ctx.subscriptions).length;
      return open;
    },
  };
}

/** The error without `extensions.http`, which only HTTP responses use. */
function forTheWire(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown> | undefined;
  if (!extensions || !('http' in extensions)) return error;
  const { http: _http, ...rest } = extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes ?? null,
    source: error.source ?? null,
    positions: error.positions ?? null,
    path: error.path ?? null,
    originalError: error.originalError ?? null,
    extensions: rest,
  });
}

/** Whether a browser's Origin is this server itself. */
function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}
