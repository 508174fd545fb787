/**
 * The gateway's HTTP server: GraphQL over HTTP, SSE (yoga's built-in,
 * compatible with graphql-sse's distinct-connections mode) and graphql-ws, all
 * on one path, GraphiQL on GET of that path, /healthz, /readyz and /metrics.
 * `stop()` ends open subscriptions with SHUTTING_DOWN, closes sockets and
 * releases every recorder, so nothing outlives it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type AuthConfig, createGatewayAuth } from '../auth/gateway-auth.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config.js';
import { connectRedisRunStore } from '../redis/redis-run-store.js';
import { RunHub } from '../runs/run-hub.js';
import type { RunSource, WorkflowGateway } from '../runs/run-source.js';
import { WorkflowCatalog } from '../runs/workflow-catalog.js';
import type { GatewayContext, GatewayServices } from '../schema/builder.js';
import { schema } from '../schema/index.js';
import { createMaskError } from './error-codes.js';
import { attachGraphqlWs } from './graphql-ws.js';
import { createMetrics } from './metrics.js';
import { type QueryLimitsConfig, queryLimitPlugins } from './query-limits.js';
import { useSharedExecution } from './shared-execution.js';
import { createWebPage } from './web-page.js';

export type GatewayConfig = Pick<
  Config,
  | 'PORT'
  | 'HOST'
  | 'GRAPHQL_PATH'
  | 'GRAPHIQL'
  | 'GATEWAY_WORKFLOWS'
  | 'RUN_LOOKUP_TIMEOUT_MS'
  | 'SHUTDOWN_GRACE_MS'
  | 'RECONCILE_INTERVAL_MS'
  | 'STREAM_SETTLE_MS'
  | 'RUN_LOG_RETENTION_MS'
  | 'RUN_LOG_MAX_EVENTS'
  | 'RUN_LOG_MAX_BYTES'
  | 'RUN_LOGS_MAX_BYTES'
  | 'REDIS_URL'
  | 'REDIS_KEY_PREFIX'
  | 'REDIS_LEASE_MS'
  | 'MAX_REQUEST_BYTES'
  | 'CORS_ORIGINS'
> &
  AuthConfig &
  QueryLimitsConfig;

export interface Gateway {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  readonly url: string;
  readonly port: number;
  readonly runs: RunHub;
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  readonly config: GatewayConfig;
  readonly engine: RunSource & WorkflowGateway;
  readonly logger: Logger;
  /** The engine delivers a run's finish only after the run's step events (see ordersFinish). */
  readonly orderedFinish: boolean;
}

/** Starts the gateway and resolves once it listens. */
export async function startGateway({ config, engine, logger, orderedFinish }: GatewayDependencies): Promise<Gateway> {
  const auth = createGatewayAuth(config, logger);
  const store = config.REDIS_URL
    ? await connectRedisRunStore({
        url: config.REDIS_URL,
        keyPrefix: config.REDIS_KEY_PREFIX,
        leaseMs: config.REDIS_LEASE_MS,
        retentionMs: config.RUN_LOG_RETENTION_MS,
        maxEvents: config.RUN_LOG_MAX_EVENTS,
        logger,
      })
    : undefined;
  const runs = new RunHub(
    engine,
    {
      reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
      settleMs: config.STREAM_SETTLE_MS,
      lookupTimeoutMs: config.RUN_LOOKUP_TIMEOUT_MS,
      nameWaitMs: 5_000,
      orderedFinish,
      // events of a run whose trigger has not answered yet (or of its child runs, which the tap hears too)
      tap: { pendingMs: 30_000, maxPendingEvents: 10_000 },
      retentionMs: config.RUN_LOG_RETENTION_MS,
      logLimits: { maxEvents: config.RUN_LOG_MAX_EVENTS, maxBytes: config.RUN_LOG_MAX_BYTES },
      maxTotalBytes: config.RUN_LOGS_MAX_BYTES,
      stopTimeoutMs: config.SHUTDOWN_GRACE_MS,
      // half a lease: a run whose recorder died is taken over within 1.5 lease periods
      takeoverIntervalMs: Math.max(50, Math.floor(config.REDIS_LEASE_MS / 2)),
    },
    logger,
    store,
  );
  const services: GatewayServices = {
    runs,
    engine,
    workflows: new WorkflowCatalog(engine, config.GATEWAY_WORKFLOWS),
    auth,
  };

  const yoga = createYoga<Record<string, unknown>, GatewayContext>({
    schema,
    // graphql-ws authenticated its connection once (graphql-ws.ts); HTTP and SSE requests each carry their credential
    context: async (initial): Promise<GatewayContext> => {
      const connected = (initial as { principal?: Principal }).principal;
      if (connected) return { ...services, principal: connected, transport: 'ws' };
      const credential = initial.request.headers.get('authorization') ?? undefined;
      return { ...services, principal: await auth.authenticator.authenticate(credential), transport: 'http' };
    },
    plugins: [...queryLimitPlugins(config), useSharedExecution()],
    // yoga's default reflects any Origin: a page on another site could trigger runs on a local
    // gateway with authentication off and read the answers
    cors: config.CORS_ORIGINS.length > 0 ? { origin: config.CORS_ORIGINS, credentials: false } : false,
    graphqlEndpoint: config.GRAPHQL_PATH,
    graphiql: config.GRAPHIQL ? { subscriptionsProtocol: 'WS', title: 'Hatchet GraphQL gateway' } : false,
    landingPage: false,
    maskedErrors: { maskError: createMaskError(logger) },
    // yoga logs every resolver error; the mask logs the unexpected ones itself
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.debug(args.map(String).join(' ')),
    },
  });

  const metrics = createMetrics(runs);
  const webPage = createWebPage({ graphqlPath: config.GRAPHQL_PATH });

  let stopping: Promise<void> | undefined;
  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      if (!res.headersSent) json(res, 500, { status: 'error' });
      else res.destroy();
    });
  });
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    // a load balancer stops sending new clients once shutdown began
    if (path === '/readyz' && stopping) return json(res, 503, { status: 'shutting down' });
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(await metrics.metrics());
      return;
    }
    if (path === '/readyz') {
      try {
        await engine.listWorkflows();
        return json(res, 200, { status: 'ready' });
      } catch {
        return json(res, 503, { status: 'engine unavailable' });
      }
    }
    if (path && webPage.handles(req.method, path)) return webPage.serve(req, res, path);
    // yoga answers an unsupported media type with an empty 415: say what it takes
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (
      req.method === 'POST' &&
      path === config.GRAPHQL_PATH &&
      // no form encoding: a cross-site form could send it without a CORS preflight
      !['application/json', 'application/graphql+json'].includes(contentType)
    ) {
      return json(res, 415, {
        errors: [
          {
            message: 'Send the request as application/json (or application/graphql+json).',
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });
    }
    // yoga reads a whole body before parsing it: refuse what is too big up front,
    // and a body of unknown length (chunked), which could be of any size
    if (req.method === 'POST' && req.headers['content-length'] === undefined) {
      return json(res, 411, {
        errors: [
          {
            message: 'Send the request body with a Content-Length (chunked bodies are not accepted).',
            extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_REQUEST_BYTES', max: config.MAX_REQUEST_BYTES },
          },
        ],
      });
    }
    if (Number(req.headers['content-length'] ?? 0) > config.MAX_REQUEST_BYTES) {
      return json(res, 413, {
        errors: [
          {
            message: `The request body is over ${config.MAX_REQUEST_BYTES} bytes.`,
            extensions: { code: 'LIMIT_EXCEEDED', limit: 'MAX_REQUEST_BYTES', max: config.MAX_REQUEST_BYTES },
          },
        ],
      });
    }
    return yoga.handle(req, res);
  }

  const graphqlWs = attachGraphqlWs(server, config.GRAPHQL_PATH, yoga as never, auth, config.CORS_ORIGINS);
  const wsServer = graphqlWs.server;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.PORT, config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // e.g. the port is taken: what was opened so far must not keep the process alive
    wsServer.close();
    await runs.close();
    await store?.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${config.GRAPHQL_PATH}`;

  const stop = () => {
    stopping ??= (async () => {
      // stop accepting; idle keep-alive connections close, requests in flight finish
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // followers get SHUTTING_DOWN and complete; one grace period covers the recorders'
      // stop and the followers' flush together
      const deadline = Date.now() + config.SHUTDOWN_GRACE_MS;
      await runs.close();
      await waitFor(
        () => runs.stats().subscribers === 0 && graphqlWs.openOperations() === 0,
        Math.max(0, deadline - Date.now()),
      );
      for (const client of wsServer.clients) client.close(1001, 'Going away');
      await waitFor(() => wsServer.clients.size === 0, 1_000);
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      // what is still open after the grace period is cut
      server.closeAllConnections();
      await closed;
      await yoga.dispose();
      await store?.close();
    })();
    return stopping;
  };

  logger.info({ url }, 'gateway listening');
  return { url, port, runs, stop };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
