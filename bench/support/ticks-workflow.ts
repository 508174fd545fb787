/**
 * `bench-ticks`: the benchmarks' workflow. Its step waits for the bench to
 * open a gate (so every subscriber is attached first), then streams `count`
 * chunks `intervalMs` apart, each `"<index> <wall-clock ms, 3 decimals>"`
 * (plus `padBytes` of padding), so any receiver on this machine can compute
 * the delivery latency of every chunk and which ones it lost.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless } from '../../src/worker/index.js';

export type TicksInput = {
  count: number;
  intervalMs: number;
  /** Wait for openGate(gate) before the first chunk. */
  gate?: string;
  padBytes?: number;
};

export type TicksOutput = { count: number; firstAt: number; lastAt: number };

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes of one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Parses a chunk: its index and the wall-clock time it was sent at. */
export function parseTick(data: string): { index: number; sentAt: number } | undefined {
  const space = data.indexOf(' ');
  if (space < 0) return undefined;
  const index = Number(data.slice(0, space));
  const sentAt = Number.parseFloat(data.slice(space + 1));
  return Number.isFinite(index) && Number.isFinite(sentAt) ? { index, sentAt } : undefined;
}

const gates = new Map<string, { opened: boolean; waiters: Array<() => void> }>();

function gate(id: string) {
  let entry = gates.get(id);
  if (!entry) {
    entry = { opened: false, waiters: [] };
    gates.set(id, entry);
  }
  return entry;
}

/** Lets the run waiting on `id` start streaming (before or after it began waiting). */
export function openGate(id: string): void {
  const entry = gate(id);
  entry.opened = true;
  for (const wake of entry.waiters.splice(0)) wake();
}

/** Opens every gate: a bench that ends early leaves no run waiting. */
export function openAllGates(): void {
  for (const id of gates.keys()) openGate(id);
}

function waitGate(id: string): Promise<void> {
  const entry = gate(id);
  if (entry.opened) return Promise.resolve();
  return new Promise((resolve) => entry.waiters.push(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function ticksWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<TicksInput, { ticks: TicksOutput }>({
    name: 'bench-ticks',
    description: 'Benchmark: streams timestamped chunks at a fixed rate once the bench opens its gate.',
  });
  workflow.task({
    name: 'ticks',
    retries: 0,
    executionTimeout: '15m',
    fn: (input, ctx) =>
      lossless(ctx, async () => {
        if (input.gate) await waitGate(input.gate);
        const pad = input.padBytes ? ` ${'x'.repeat(input.padBytes)}` : '';
        const start = performance.now();
        let firstAt = 0;
        let lastAt = 0;
        for (let i = 0; i < input.count; i++) {
          // on schedule, but never two chunks without a pause: bursts are lost on the Postgres queue
          const wait = start + i * input.intervalMs - performance.now();
          await sleep(Math.max(i === 0 ? 0 : 1, wait));
          lastAt = wallClockMs();
          if (i === 0) firstAt = lastAt;
          await ctx.putStream(`${i} ${lastAt.toFixed(3)}${pad}`);
        }
        return { count: input.count, firstAt, lastAt };
      }),
  });
  return workflow;
}

/** Starts a worker with `bench-ticks` (and nothing else) and resolves once it is registered. */
export async function startTicksWorker(hatchet: HatchetClient): Promise<{ stop(): Promise<void> }> {
  const worker = await hatchet.worker('bench-ticks-worker', {
    workflows: [ticksWorkflow(hatchet)],
    slots: 20,
    handleKill: false,
  });
  const running = worker.start();
  running.catch((error: unknown) => process.stderr.write(`bench worker stopped: ${String(error)}\n`));
  await worker.waitUntilReady(60_000);
  return {
    stop: async () => {
      await worker.stop();
      await running.catch(() => {});
    },
  };
}
