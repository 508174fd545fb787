/**
 * The embedded engine for a bench: started like `npm start` does, with its
 * own Postgres data folder (so it never meets a test run's or `npm start`'s
 * engine in this checkout), and its connection as HATCHET_CLIENT_* variables
 * for the child processes (gateway, proxy) that talk to it.
 */
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { connectEngine, type EngineConnection } from '../../src/engine/connect-engine.js';
import { childProcesses } from './proc-stats.js';

export interface BenchEngine {
  readonly connection: EngineConnection;
  /** HATCHET_CLIENT_* variables that connect another process to this engine. */
  readonly clientEnv: Record<string, string>;
  /** The engine's patches from engine/patches/, as its sidecar reports them (none: an unpatched engine). */
  readonly patches: readonly string[];
  /** The sidecar's process id (the Go engine), for its CPU time. */
  readonly sidecarPid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the embedded engine; `extra` adds configuration (e.g. RabbitMQ, or
 * HATCHET_CLIENT_EMBEDDED_BINARY_PATH for another sidecar build).
 */
export async function startBenchEngine(extra: Partial<Record<keyof Config, string>> = {}): Promise<BenchEngine> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    HATCHET_EMBEDDED_LOG_LEVEL:
      (process.env['BENCH_ENGINE_LOG_LEVEL'] as Config['HATCHET_EMBEDDED_LOG_LEVEL'] | undefined) ?? 'error',
    HATCHET_EMBEDDED_POSTGRES_DATA_DIR: process.env['BENCH_PG_DIR'] ?? '/tmp/hgw-bench/pg',
    ...extra,
  });
  const connection = await connectEngine(config);
  const c = connection.hatchet.config;
  const clientEnv = {
    HATCHET_CLIENT_TOKEN: c.token,
    HATCHET_CLIENT_HOST_PORT: c.host_port ?? '',
    HATCHET_CLIENT_API_URL: c.api_url,
    HATCHET_CLIENT_TENANT_ID: c.tenant_id,
    HATCHET_CLIENT_TLS_STRATEGY: 'none',
  };
  const sidecar = (await childProcesses(process.pid)).find((p) => p.name.startsWith('hatchet'));
  return {
    connection,
    clientEnv,
    patches: connection.patches,
    sidecarPid: sidecar?.pid,
    stop: () => connection.stop(),
  };
}
