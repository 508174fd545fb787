/**
 * The Hatchet connection, and the only place that decides which engine the
 * gateway talks to:
 * - `HATCHET_CLIENT_TOKEN` set: a plain HatchetClient (Hatchet Cloud,
 *   self-hosted, Kubernetes); the SDK reads its own HATCHET_CLIENT_* settings.
 * - unset: Hatchet's embedded mode, a real engine in a sidecar process. The
 *   sidecar binary is, in order: HATCHET_CLIENT_EMBEDDED_BINARY_PATH; the
 *   project's own build from the engine's Go module (built or refreshed first
 *   when Go is on PATH, about 0.1 s when nothing changed); the SDK's download
 *   of the official sidecar.
 * It never falls back to anything that is not a real engine.
 */
import { spawnSync } from 'node:child_process';
import { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { HatchetEmbeddedClient } from '@hatchet-dev/typescript-sdk/v1/embedded.js';
import type { Config } from '../config.js';
import { EngineUnavailableError } from './engine-unavailable-error.js';
import { localSidecar } from './sidecar-binary.js';

export type EngineMode = 'embedded' | 'token';

/** A connected engine; `stop()` releases it (and stops the sidecar in embedded mode). */
export interface EngineConnection {
  readonly hatchet: HatchetClient;
  readonly mode: EngineMode;
  /** The engine's patches from engine/patches/ (embedded: as its sidecar reports them; token: none known). */
  readonly patches: readonly string[];
  stop(): Promise<void>;
}

type EngineConfig = Pick<
  Config,
  | 'HATCHET_CLIENT_TOKEN'
  | 'HATCHET_CLIENT_EMBEDDED_BINARY_PATH'
  | 'HATCHET_EMBEDDED_DATABASE_URL'
  | 'HATCHET_EMBEDDED_POSTGRES_DATA_DIR'
  | 'HATCHET_EMBEDDED_RABBITMQ_URL'
  | 'HATCHET_EMBEDDED_LOG_LEVEL'
>;

const howToFix =
  'Run `npm run engine:build` (needs Go; builds the engine from its Go module), ' +
  'set HATCHET_CLIENT_EMBEDDED_BINARY_PATH to a hatchet-embedded sidecar, ' +
  'or set HATCHET_CLIENT_TOKEN to use an existing Hatchet (Cloud, self-hosted).';

/** Connects to the engine chosen by the configuration (see the module comment). */
export async function connectEngine(config: EngineConfig): Promise<EngineConnection> {
  if (config.HATCHET_CLIENT_TOKEN) {
    const hatchet = HatchetClient.init({ token: config.HATCHET_CLIENT_TOKEN });
    return { hatchet, mode: 'token', patches: [], stop: async () => {} };
  }
  return startEmbedded(config);
}

async function startEmbedded(config: EngineConfig): Promise<EngineConnection> {
  let binaryPath = config.HATCHET_CLIENT_EMBEDDED_BINARY_PATH;
  if (!binaryPath) {
    try {
      binaryPath = await localSidecar();
    } catch (error) {
      throw new EngineUnavailableError(`The engine build failed (${message(error)}). ${howToFix}`);
    }
  }
  try {
    return await initEmbedded(config, binaryPath);
  } catch (error) {
    const what = binaryPath
      ? `The embedded engine at ${binaryPath} did not start`
      : 'No Go to build the engine with, and the SDK could not download the embedded sidecar';
    throw new EngineUnavailableError(`${what}: ${message(error)}. ${howToFix}`);
  }
}

async function initEmbedded(config: EngineConfig, binaryPath: string | undefined): Promise<EngineConnection> {
  const hatchet = await HatchetEmbeddedClient.init({
    ...(binaryPath ? { binaryPath } : {}),
    ...(config.HATCHET_EMBEDDED_DATABASE_URL ? { databaseUrl: config.HATCHET_EMBEDDED_DATABASE_URL } : {}),
    ...(config.HATCHET_EMBEDDED_POSTGRES_DATA_DIR
      ? { postgresDataDir: config.HATCHET_EMBEDDED_POSTGRES_DATA_DIR }
      : {}),
    ...(config.HATCHET_EMBEDDED_RABBITMQ_URL ? { rabbitmqUrl: config.HATCHET_EMBEDDED_RABBITMQ_URL } : {}),
    logLevel: config.HATCHET_EMBEDDED_LOG_LEVEL,
    readyTimeoutMs: 120_000,
  });
  return {
    hatchet,
    mode: 'embedded',
    patches: binaryPath ? sidecarPatches(binaryPath) : [],
    stop: async () => {
      // the SDK waits for the sidecar on unref'd handles: without a handle of
      // ours, node may exit mid-stop and leave the sidecar and its files behind
      const keepAlive = setInterval(() => {}, 1_000);
      try {
        await hatchet.stopEmbedded();
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}

/**
 * The patches a sidecar was built with (`-patches`, see scripts/engine-build.sh);
 * none for a sidecar that does not know the flag (the official one).
 */
export function sidecarPatches(binaryPath: string): string[] {
  const result = spawnSync(binaryPath, ['-patches'], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) return [];
  try {
    const names = JSON.parse(result.stdout) as unknown;
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

/** Whether the engine's ends (a run's, a step's) come after the events before them, as configured or as the engine says. */
export function ordersFinish(setting: 'auto' | 'true' | 'false', patches: readonly string[]): boolean {
  return setting === 'auto' ? patches.includes('ordered-finish') : setting === 'true';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
