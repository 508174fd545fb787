/**
 * A Hatchet engine of one test file's own: the embedded sidecar with its
 * private Postgres in a `gateway-test-engine-` folder (so CI's leftover check
 * sees it), on ports fixed at the first start, that the test can kill outright
 * (SIGKILL) and start again on the same data folder and ports. The shared
 * engine of the global setup is never touched. `stop()` ends every process
 * started here and throws if one outlives it.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { startEmbeddedSidecar } from '@hatchet-dev/typescript-sdk/v1/embedded.js';
import { localSidecar } from '../../../src/engine/sidecar-binary.js';
import { freePort } from '../free-port.js';

type Sidecar = Awaited<ReturnType<typeof startEmbeddedSidecar>>;

export interface DedicatedEngine {
  /** The folder that names every process of this engine (sidecar and Postgres). */
  readonly dataDir: string;
  readonly grpcAddress: string;
  readonly apiUrl: string;
  /** A client with the token of the first start, as an app configured once would hold. */
  client(logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): HatchetClient;
  /** SIGKILLs the sidecar and resolves once it and its Postgres are gone; returns the sidecar's pid. */
  kill(): Promise<number>;
  /** Starts the sidecar again on the same data folder and ports; resolves with how long it took (ms). */
  restart(): Promise<number>;
  /** Stops the running sidecar (if any) and checks that nothing of this engine is left. */
  stop(): Promise<void>;
}

export async function startDedicatedEngine(): Promise<DedicatedEngine> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-test-engine-'));
  await chmod(dataDir, 0o755); // the private Postgres runs as the postgres user when we are root
  const binaryPath = process.env['HATCHET_CLIENT_EMBEDDED_BINARY_PATH'] ?? (await localSidecar());
  const options = {
    ...(binaryPath ? { binaryPath } : {}),
    postgresDataDir: join(dataDir, 'pgdata'),
    grpcPort: await freePort(),
    apiPort: await freePort(),
    logLevel: 'error' as const,
    readyTimeoutMs: 120_000,
  };
  let sidecar: Sidecar | undefined = await startEmbeddedSidecar(options);
  const first = sidecar;

  return {
    dataDir,
    grpcAddress: first.grpcAddress,
    apiUrl: first.apiUrl ?? '',
    client(logLevel = 'ERROR') {
      return HatchetClient.init({
        token: first.token,
        tenant_id: first.tenantId,
        host_port: first.grpcAddress,
        ...(first.apiUrl ? { api_url: first.apiUrl } : {}),
        tls_config: { tls_strategy: 'none' },
        log_level: logLevel,
      });
    },
    async kill() {
      const pid = await sidecarPid(dataDir);
      process.kill(pid, 'SIGKILL');
      // the SDK's handle of a killed sidecar never resolves stop(): forget it
      sidecar = undefined;
      // the sidecar's Postgres gets SIGINT when its parent dies (Pdeathsig) and shuts down fast
      await until(() => processesOf(dataDir).length === 0, 30_000, `processes of ${dataDir} to end`);
      return pid;
    },
    async restart() {
      if (sidecar) throw new Error('the dedicated engine is running');
      const started = Date.now();
      sidecar = await startEmbeddedSidecar(options);
      if (sidecar.grpcAddress !== first.grpcAddress) throw new Error(`restarted on ${sidecar.grpcAddress}`);
      return Date.now() - started;
    },
    async stop() {
      await sidecar?.stop();
      sidecar = undefined;
      await until(() => processesOf(dataDir).length === 0, 30_000, `processes of ${dataDir} to end`).catch(() => {});
      const leftovers = processesOf(dataDir);
      for (const line of leftovers) {
        const pid = Number(line.split(' ')[0]);
        if (pid > 0) process.kill(pid, 'SIGKILL');
      }
      await rm(dataDir, { recursive: true, force: true });
      if (leftovers.length > 0)
        throw new Error(`dedicated engine processes outlived the test:\n${leftovers.join('\n')}`);
    },
  };
}

/** Processes whose command line names `text` (pgrep -af), but not pgrep itself. */
export function processesOf(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line && !line.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** The pid of the sidecar of `dataDir`, which must be a child of this process. */
async function sidecarPid(dataDir: string): Promise<number> {
  const lines = processesOf(dataDir).filter((line) => line.includes('hatchet-embedded-sidecar'));
  for (const line of lines) {
    const pid = Number(line.split(' ')[0]);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // fields after the command (in parentheses): state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === process.pid) return pid;
  }
  throw new Error(`no sidecar of ${dataDir} is a child of this process:\n${lines.join('\n')}`);
}

/** Polls `condition` every 50 ms until it holds, or rejects after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
