/** Drives bench/processes/run-followers.ts: one graphql-ws follower per run, in a process of their own. */
import { type BenchChild, spawnBenchProcess } from './child-process.js';

/** What one run's follower saw; `text` is every StreamChunkEvent's data, concatenated in arrival order. */
export interface FollowedRun {
  readonly run: number;
  readonly runId: string;
  text: string;
  /** Distinct chunk indexes received. */
  received: number;
  /** Indexes in 0..chunks-1 never received. */
  missing: number[];
  duplicates: number;
  /** Chunks whose index was lower than one received before. */
  outOfOrder: number;
  /** Characters that were not part of a well-formed chunk of this run. */
  strayChars: number;
  gaps: number;
  /** Sum of StreamGapEvent.missedChunks where it was a number. */
  missedChunks: number;
  /** StreamGapEvents with missedChunks: null (the gateway could not tell how many). */
  gapsUnknown: number;
  gapReasons: string[];
  status: string | null;
  /** Wall-clock ms at which the RunStatusEvent arrived. */
  statusAt: number | null;
  /** Events (any type) received after the RunStatusEvent. */
  eventsAfterStatus: number;
  /** The subscription completed (after the RunStatusEvent, as the gateway promises). */
  completed: boolean;
  error?: string;
  /** Latency of each chunk's first receipt (ms), in order of arrival. */
  latencies: number[];
}

export interface RunFollowersResult {
  /** The deadline passed before every subscription completed. */
  readonly timedOut: boolean;
  readonly ended: number;
  readonly runs: FollowedRun[];
  /** The load generator's own CPU time. */
  readonly cpuSeconds: number;
}

export interface RunFollowers {
  readonly pid: number;
  /** Resolves once every socket is open and its subscription sent. */
  readonly subscribed: Promise<{ count: number; openSeconds: number }>;
  /** Resolves once every subscription ended or the deadline passed (rejects if the process died). */
  readonly result: Promise<RunFollowersResult>;
  stop(): Promise<void>;
}

export interface RunFollowersOptions {
  /** ws://.../graphql */
  readonly url: string;
  readonly runs: ReadonlyArray<{ run: number; runId: string }>;
  readonly chunks: number;
  /** From `subscribed`: how long the followers wait for their subscriptions to complete. */
  readonly deadlineMs: number;
}

export function startRunFollowers(options: RunFollowersOptions): RunFollowers {
  const child: BenchChild = spawnBenchProcess(new URL('../processes/run-followers.ts', import.meta.url), {
    BENCH_URL: options.url,
    BENCH_RUNS: JSON.stringify(options.runs),
    BENCH_CHUNKS: String(options.chunks),
    BENCH_DEADLINE_MS: String(options.deadlineMs),
  });
  const subscribed = child.next<{ count: number; openSeconds: number }>('subscribed', 120_000);
  return {
    pid: child.pid,
    subscribed,
    result: subscribed.then(() => child.next<RunFollowersResult>('result', options.deadlineMs + 60_000)),
    stop: () => child.stop(2_000),
  };
}
