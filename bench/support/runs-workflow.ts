/**
 * `bench-runs`: the load benchmark's workflow (bench/runs.ts). Its step waits
 * for the bench to open a gate (so every subscriber of every run is attached
 * first), then streams `chunks` chunks `intervalMs` apart, each
 * `r<run>c<k>@<wall-clock ms, 3 decimals>;`, so that a receiver can check
 * every character and compute each chunk's delivery latency. `mode: 'kit'`
 * writes through the worker kit (`lossless`: acknowledged, counted chunks);
 * `mode: 'plain'` calls the SDK's `ctx.putStream` as Hatchet's streaming
 * guide does, and returns right after the last chunk.
 *
 * The worker runs in the bench process: the text each run sent is kept here
 * for the bench to compare with what its receivers got. It never waits for a
 * receiver: what is lost is what the bench measures.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless } from '../../src/worker/index.js';
import { wallClockMs } from './ticks-workflow.js';

export type RunsMode = 'kit' | 'plain';

export type RunsInput = {
  /** The run's number in its row: the `r<run>` of its chunks. */
  run: number;
  chunks: number;
  intervalMs: number;
  mode: RunsMode;
  /** Wait for openRunsGate(gate) before the first chunk. */
  gate: string;
};

export type RunsOutput = { run: number; chunks: number; firstAt: number; lastAt: number };

/** What one run's step sent, as the bench compares it with what was received. */
export interface SentRun {
  /** The chunks in the order they were written. */
  readonly chunks: string[];
  /** Wall-clock ms of the first and last write (0 before the first). */
  firstAt: number;
  lastAt: number;
  /** Set when a write or the step failed. */
  error?: string;
  /** The step's body ended (kit: before the counted stream is closed). */
  done: boolean;
  /** Wall-clock ms at which the task function returned or threw (kit: after the close), else 0. */
  returnedAt: number;
}

/** The text of one chunk: `r<run>c<k>@<sent at>;`. */
export function chunkText(run: number, k: number, sentAt: number): string {
  return `r${run}c${k}@${sentAt.toFixed(3)};`;
}

const sent = new Map<string, SentRun>();

/** What the step of run `run` behind `gate` sent so far; undefined if it has not started. */
export function sentRun(gate: string, run: number): SentRun | undefined {
  return sent.get(`${gate}/${run}`);
}

/** Forgets what the runs behind `gate` sent (a finished row). */
export function forgetSent(gate: string): void {
  for (const key of sent.keys()) if (key.startsWith(`${gate}/`)) sent.delete(key);
}

const gates = new Map<string, { opened: boolean; waiters: Array<() => void> }>();

function gateOf(id: string) {
  let entry = gates.get(id);
  if (!entry) {
    entry = { opened: false, waiters: [] };
    gates.set(id, entry);
  }
  return entry;
}

/** Lets the runs waiting on `id` start streaming (before or after they began waiting). */
export function openRunsGate(id: string): void {
  const entry = gateOf(id);
  entry.opened = true;
  for (const wake of entry.waiters.splice(0)) wake();
}

/** Opens every gate: a bench that ends early leaves no run waiting (worker.stop() would wait for it). */
export function openAllRunsGates(): void {
  for (const id of gates.keys()) openRunsGate(id);
}

function waitGate(id: string): Promise<void> {
  const entry = gateOf(id);
  if (entry.opened) return Promise.resolve();
  return new Promise((resolve) => entry.waiters.push(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface StreamContext {
  putStream(data: string): Promise<void>;
}

async function stream(input: RunsInput, ctx: StreamContext): Promise<RunsOutput> {
  await waitGate(input.gate);
  const record: SentRun = { chunks: [], firstAt: 0, lastAt: 0, done: false, returnedAt: 0 };
  sent.set(`${input.gate}/${input.run}`, record);
  try {
    const start = performance.now();
    for (let k = 0; k < input.chunks; k++) {
      // on schedule, but never two chunks without a pause, as bench-ticks does
      const wait = start + k * input.intervalMs - performance.now();
      await sleep(Math.max(k === 0 ? 0 : 1, wait));
      const at = wallClockMs();
      const text = chunkText(input.run, k, at);
      if (k === 0) record.firstAt = at;
      record.lastAt = at;
      record.chunks.push(text);
      await ctx.putStream(text);
    }
    return { run: input.run, chunks: input.chunks, firstAt: record.firstAt, lastAt: record.lastAt };
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    throw error;
  } finally {
    record.done = true;
  }
}

export function runsWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<RunsInput, { stream: RunsOutput }>({
    name: 'bench-runs',
    description: 'Load benchmark: many runs stream checkable, timestamped chunks at once, once the bench opens a gate.',
  });
  workflow.task({
    name: 'stream',
    retries: 0,
    executionTimeout: '15m',
    fn: async (input, ctx) => {
      try {
        return await (input.mode === 'kit' ? lossless(ctx, () => stream(input, ctx)) : stream(input, ctx));
      } finally {
        const record = sentRun(input.gate, input.run);
        if (record) record.returnedAt = wallClockMs();
      }
    },
  });
  return workflow;
}

/** Starts a worker with `bench-runs` (and nothing else) and `slots` slots; resolves once it is registered. */
export async function startRunsWorker(hatchet: HatchetClient, slots: number): Promise<{ stop(): Promise<void> }> {
  const worker = await hatchet.worker('bench-runs-worker', {
    workflows: [runsWorkflow(hatchet)],
    slots,
    handleKill: false,
  });
  const running = worker.start();
  running.catch((error: unknown) => process.stderr.write(`bench worker stopped: ${String(error)}\n`));
  await worker.waitUntilReady(60_000);
  return {
    stop: async () => {
      openAllRunsGates();
      await worker.stop();
      await running.catch(() => {});
    },
  };
}
