/**
 * Starts one real Hatchet engine (embedded mode, the project's sidecar build)
 * and the example worker for the integration tests, and stops both after the
 * run, checking that no engine or Postgres process outlives it.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startExampleWorker } from '../../examples/workers/worker.js';
import { loadConfig } from '../../src/config.js';
import { connectEngine } from '../../src/engine/connect-engine.js';

export interface EngineConnectionInfo {
  token: string;
  hostPort: string;
  apiUrl: string;
  tenantId: string;
  /** The sidecar's engine patches (none for the unpatched engine). */
  patches: string[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    engine: EngineConnectionInfo;
  }
}

export default function setup(project: TestProject) {
  return startTestEngine(project, process.env['HATCHET_CLIENT_EMBEDDED_BINARY_PATH']);
}

/** Starts the engine (the given sidecar binary, else the project's build) and the example worker. */
export async function startTestEngine(project: TestProject, binaryPath: string | undefined) {
  const started = Date.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-test-engine-'));
  await chmod(dataDir, 0o755); // the private Postgres runs as the postgres user when we are root
  const config = loadConfig({
    HATCHET_EMBEDDED_POSTGRES_DATA_DIR: join(dataDir, 'pgdata'),
    HATCHET_EMBEDDED_LOG_LEVEL: process.env['TEST_ENGINE_LOG_LEVEL'] ?? 'error',
    ...(binaryPath ? { HATCHET_CLIENT_EMBEDDED_BINARY_PATH: binaryPath } : {}),
  });
  const engine = await connectEngine(config);
  const worker = await startExampleWorker(engine.hatchet, 'gateway-test-examples');
  const c = engine.hatchet.config;
  project.provide('engine', {
    token: c.token,
    hostPort: c.host_port,
    apiUrl: c.api_url,
    tenantId: c.tenant_id,
    patches: [...engine.patches],
  });
  process.stderr.write(
    `engine (${engine.mode}, patches: ${engine.patches.join(', ') || 'none'}) and example worker ready in ${Date.now() - started} ms\n`,
  );

  return async () => {
    await worker.stop();
    await engine.stop();
    const leftovers = processesMentioning(dataDir);
    await rm(dataDir, { recursive: true, force: true });
    if (leftovers.length > 0) throw new Error(`engine processes outlived the test run:\n${leftovers.join('\n')}`);
  };
}

function processesMentioning(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}
