/**
 * Starts a bench process (a TypeScript entry under bench/processes/) with tsx
 * and reads the JSON lines it prints: its first line tagged `tag` tells that
 * it is ready, later lines are messages to the bench.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface BenchChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the next JSON line tagged `tag` (rejects if the process exits first). */
  next<T>(tag: string, timeoutMs?: number): Promise<T>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `node [nodeArgs] --import tsx <entry>` with `env` added to this process's environment. */
export function spawnBenchProcess(entry: URL, env: Record<string, string>, nodeArgs: string[] = []): BenchChild {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry.pathname], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exit.then(() => {
    exited = true;
    for (const wake of waiters.splice(0)) wake();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (!line.startsWith('{')) return; // the SDK may log to stdout
    try {
      queue.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    process: child,
    pid: child.pid as number,
    async next<T>(tag: string, timeoutMs = 300_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = queue.findIndex((message) => tag in message);
        if (index >= 0) return queue.splice(index, 1)[0]?.[tag] as T;
        if (exited) throw new Error(`${entry.pathname} exited before saying ${tag}`);
        if (Date.now() > deadline) throw new Error(`${entry.pathname} did not say ${tag} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 1_000);
        });
      }
    },
    async stop(graceMs = 15_000) {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
