/** Drives bench/processes/subscribers.ts: the subscribers of a run, in a process of their own. */

import { type BenchChild, spawnBenchProcess } from './child-process.js';
import type { LatencySummary } from './percentiles.js';

export type SubscriberMode = 'ws' | 'sse' | 'proxy';

export interface SubscribersResult {
  readonly mode: SubscriberMode;
  readonly subscribers: number;
  readonly timedOut: boolean;
  readonly ended: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly latencyMs: LatencySummary;
  readonly latencySketch: number[];
  readonly chunksExpectedPerSubscriber: number;
  readonly chunksReceivedMin: number;
  readonly chunksReceivedMax: number;
  readonly chunksLostTotal: number | null;
  /** Non-chunk events received, by type (`RunStatusEvent <status>` for the end), over all subscribers. */
  readonly otherEvents: Record<string, number>;
  /** Chunks the gateway said it missed (StreamGapEvent.missedChunks), over all subscribers. */
  readonly missedChunksReported: number;
  readonly duplicates: number;
  readonly bytesPerSubscriber: number;
  readonly loadGenerator: { cpuSeconds: number; eventLoopLagP99Ms: number; eventLoopLagMaxMs: number };
}

export interface Subscribers {
  readonly pid: number;
  /** Resolves once every subscription is open. */
  readonly subscribed: Promise<{ count: number; openSeconds: number }>;
  /** Resolves once every subscription ended (or the deadline passed). */
  readonly result: Promise<SubscribersResult>;
  stop(): Promise<void>;
}

export interface SubscribersOptions {
  readonly mode: SubscriberMode;
  readonly url: string;
  readonly runId: string;
  readonly count: number;
  readonly expectedChunks: number;
  readonly deadlineMs: number;
}

export function startSubscribers(options: SubscribersOptions): Subscribers {
  const child: BenchChild = spawnBenchProcess(new URL('../processes/subscribers.ts', import.meta.url), {
    BENCH_MODE: options.mode,
    BENCH_URL: options.url,
    BENCH_RUN_ID: options.runId,
    BENCH_SUBSCRIBERS: String(options.count),
    BENCH_EXPECTED_CHUNKS: String(options.expectedChunks),
    BENCH_DEADLINE_MS: String(options.deadlineMs),
  });
  const subscribed = child.next<{ count: number; openSeconds: number }>('subscribed', 600_000);
  return {
    pid: child.pid,
    subscribed,
    result: subscribed.then(() => child.next<SubscribersResult>('result', options.deadlineMs + 60_000)),
    stop: () => child.stop(2_000),
  };
}
