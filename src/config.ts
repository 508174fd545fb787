/**
 * The gateway's configuration: every key has a default, a doc line and an env
 * var, and is parsed once at start. Nothing else in `src/` reads process.env
 * for gateway settings (the Hatchet SDK reads its own HATCHET_CLIENT_* vars).
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const schema = z.object({
  /** Port of the HTTP server (GraphQL over HTTP, graphql-ws, SSE, GraphiQL). */
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Interface to bind; 127.0.0.1 keeps a local gateway off the network. */
  HOST: z.string().default('127.0.0.1'),
  /** Path of the GraphQL endpoint (HTTP, graphql-ws and SSE share it). */
  GRAPHQL_PATH: z.string().startsWith('/').default('/graphql'),
  /** Serve GraphiQL on GET of the GraphQL path. */
  GRAPHIQL: bool.default(true),
  /** Start the example worker in the gateway process (`npm start`); false is the production shape. */
  START_EXAMPLE_WORKER: bool.default(true),
  /** Comma-separated workflows the gateway may trigger; empty: every workflow registered on the engine. */
  GATEWAY_WORKFLOWS: list.default([]),
  /** Gateway log level (pino). */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Set: connect to that Hatchet (Cloud, self-hosted, Kubernetes). Unset: start the embedded engine. */
  HATCHET_CLIENT_TOKEN: z.string().min(1).optional(),
  /** Embedded mode: a sidecar binary to run instead of the cached build or the SDK's download. */
  HATCHET_CLIENT_EMBEDDED_BINARY_PATH: z.string().min(1).optional(),
  /** Embedded mode: Postgres for the engine; unset, the sidecar starts a private one. */
  HATCHET_EMBEDDED_DATABASE_URL: z.string().min(1).optional(),
  /** Embedded mode: data folder of the sidecar's private Postgres. */
  HATCHET_EMBEDDED_POSTGRES_DATA_DIR: z.string().min(1).optional(),
  /** Embedded mode: RabbitMQ for the engine's message queue; unset, Postgres is the queue. */
  HATCHET_EMBEDDED_RABBITMQ_URL: z.string().min(1).optional(),
  /** Embedded mode: the engine's log level. */
  HATCHET_EMBEDDED_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('warn'),
  /** How long a subscription to an unknown or not-yet-visible run waits for the engine to know it (ms). */
  RUN_LOOKUP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How often a recorded run's REST state is read while its engine listener is attached (ms). */
  RECONCILE_INTERVAL_MS: z.coerce.number().int().positive().default(2_000),
  /**
   * How long the listener's silence must last before a finished run (or a step whose counted stream's close
   * frame has not come) is no longer awaited for its last chunks, where nothing else says they arrived (ms).
   */
  STREAM_SETTLE_MS: z.coerce.number().int().nonnegative().default(1_500),
  /**
   * Whether the engine delivers a run's finish only after the run's step events, and a step's end after its
   * chunks (the embedded sidecar's `ordered-finish` patch): `auto` asks the embedded sidecar, and is false
   * with HATCHET_CLIENT_TOKEN.
   */
  ENGINE_ORDERED_FINISH: z.enum(['auto', 'true', 'false']).default('auto'),
  /** How long a finished run's log stays in memory for late joiners and resumes (ms). */
  RUN_LOG_RETENTION_MS: z.coerce.number().int().positive().default(3_600_000),
  /** Per run: most events its log keeps; past it the oldest are dropped (their cursors expire). */
  RUN_LOG_MAX_EVENTS: z.coerce.number().int().positive().default(100_000),
  /** Per run: most bytes (estimated) its log keeps; past it the oldest events are dropped. */
  RUN_LOG_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** All runs: past this many bytes (estimated), finished run logs are dropped, oldest finished first. */
  RUN_LOGS_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024 * 1024),
  /** Set: run logs live in Redis Streams, shared by every gateway replica using this Redis; unset: in this process's memory. */
  REDIS_URL: z.string().url().optional(),
  /** Prefix of the gateway's Redis keys and channels (several gateways can share one Redis). */
  REDIS_KEY_PREFIX: z.string().min(1).default('hatchet-gateway'),
  /** With REDIS_URL: a replica recording a run renews its lease within this period, else another replica takes the run over (ms). */
  REDIS_LEASE_MS: z.coerce.number().int().min(100).default(5_000),
  /** API keys as `name:key:scope+scope,...` (scopes: trigger, read). Any key configured turns authentication on. */
  GATEWAY_API_KEYS: z.string().optional(),
  /** A JSON file of API keys: `[{ "name", "key", "scopes": ["trigger", "read"] }]`, added to GATEWAY_API_KEYS. */
  GATEWAY_API_KEYS_FILE: z.string().min(1).optional(),
  /** Secret (32+ characters) that signs run tokens; replicas must share it. Unset: a random one per process. */
  RUN_TOKEN_SECRET: z.string().min(32, 'RUN_TOKEN_SECRET needs at least 32 characters').optional(),
  /** How long a run token lets its holder follow its run (ms). */
  RUN_TOKEN_TTL_MS: z.coerce.number().int().min(1_000).default(900_000),
  /** Browser origins allowed to call the gateway from another site (CORS, and the Origin of graphql-ws upgrades); empty: same origin only. */
  CORS_ORIGINS: list.default([]),
  /** Answer introspection queries (`__schema`, `__type`); turn off in production along with GRAPHIQL. */
  INTROSPECTION: bool.default(true),
  /** Largest HTTP request body accepted (bytes); larger ones get 413. */
  MAX_REQUEST_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Largest `triggerWorkflow` input, as JSON (bytes). */
  MAX_INPUT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  /** Deepest nesting of a `triggerWorkflow` input (objects and arrays). */
  MAX_INPUT_DEPTH: z.coerce.number().int().positive().default(32),
  /** Deepest selection of an operation. */
  MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(10),
  /** Highest cost of an operation (graphql-armor's cost: objects 2, scalars 1, times 1.5 per level). */
  MAX_QUERY_COST: z.coerce.number().int().positive().default(5_000),
  /** Most aliases in an operation. */
  MAX_QUERY_ALIASES: z.coerce.number().int().nonnegative().default(15),
  /** Most directives in an operation. */
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().nonnegative().default(20),
  /** Deepest nesting of brackets in an operation document (selections, lists, objects), checked before parsing. */
  MAX_QUERY_NESTING: z.coerce.number().int().positive().default(100),
  /** Most tokens in an operation document. */
  MAX_QUERY_TOKENS: z.coerce.number().int().positive().default(2_000),
  /** `triggerWorkflow` calls per minute per API key (per process); 0 turns the limit off. */
  TRIGGER_RATE_LIMIT: z.coerce.number().int().nonnegative().default(120),
  /** Most operations open at once on one graphql-ws connection. */
  MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().positive().default(50),
  /** With authentication on: most graphql-ws connections and SSE streams open at once per key or run token. */
  MAX_CONNECTIONS_PER_KEY: z.coerce.number().int().positive().default(500),
  /** Grace period on SIGTERM before open connections are closed (ms). */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().nonnegative().default(5_000),
});

export type Config = z.infer<typeof schema>;

/** Parses the environment once; a bad value stops the start with a readable message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
