/**
 * The gateway as a separate process (`src/main.ts`, npm start's entry point)
 * in the production shape: token mode against the test engine, no example
 * worker. Tests send it signals or kill it; every process started here is
 * killed by `killGatewayProcesses()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { inject } from 'vitest';

const children: ChildProcess[] = [];

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly wsUrl: string;
}

/** Starts `src/main.ts` on a free port; `env` adds to or overrides its environment. */
export function startGatewayProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const engine = inject('engine');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      START_EXAMPLE_WORKER: 'false',
      HATCHET_CLIENT_TOKEN: engine.token,
      HATCHET_CLIENT_HOST_PORT: engine.hostPort,
      HATCHET_CLIENT_API_URL: engine.apiUrl,
      HATCHET_CLIENT_TLS_STRATEGY: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 30_000);
    const onExit = (code: number | null) => reject(new Error(`gateway exited with ${code}: ${out}`));
    child.stderr?.on('data', (data: Buffer) => {
      out += data.toString();
    });
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /GraphiQL: (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, url: match[1], wsUrl: match[1].replace(/^http/, 'ws') });
      }
    });
    child.once('exit', onExit);
  });
}

/** Resolves with the exit code (or signal) once `child` exited. */
export function exitOf(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
}

/** Kills every gateway process still running (afterAll). */
export async function killGatewayProcesses(): Promise<void> {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = exitOf(child);
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
