/**
 * Where a scenario's numbers go: bench/results/<name>.json (git-ignored),
 * with the machine and the code they were measured on.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';

/** The machine: cores, CPU model, memory, Node version. */
export function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/**
 * The commit measured (BENCH_SOURCE_COMMIT when the bench runs from a copy of
 * it) and the source files changed since it (others may edit the checkout).
 */
export function codeState(): { commit: string; changed: string[] } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const changed = git('status', '--porcelain', '--', 'src', 'examples')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3));
  return { commit: process.env['BENCH_SOURCE_COMMIT'] ?? (git('rev-parse', '--short', 'HEAD') || 'unknown'), changed };
}

/** Writes bench/results/<name>.json and returns its path. */
export async function writeResults(name: string, data: Record<string, unknown>): Promise<string> {
  const dir = new URL('../results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  const body = { scenario: name, ...data, machine: machine(), code: codeState(), at: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
  return file.pathname;
}

/**
 * Waits (at most BENCH_QUIET_WAIT_S, default 180 s) until the machine's
 * 1-minute load average is below BENCH_QUIET_LOAD (default 1): other people's
 * test runs on this machine skew every number. Returns the load it started at.
 */
export async function waitForQuietMachine(): Promise<{ load1m: number; waitedSeconds: number }> {
  const limit = Number(process.env['BENCH_QUIET_LOAD'] ?? 1);
  const deadline = Date.now() + Number(process.env['BENCH_QUIET_WAIT_S'] ?? 180) * 1000;
  const started = Date.now();
  while ((loadavg()[0] ?? 0) >= limit && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
  const load1m = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  if (load1m >= limit) process.stderr.write(`bench: machine still busy (load ${load1m}); numbers will be skewed\n`);
  return { load1m, waitedSeconds: Math.round((Date.now() - started) / 1000) };
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
