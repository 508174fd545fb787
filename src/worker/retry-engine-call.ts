/**
 * How the kit retries a call to the engine: the gRPC statuses that say "try
 * again later" (the engine's per-token rate limit, a connection that is down
 * or reset, a deadline) are retried with exponential backoff and jitter for a
 * bounded time; any other error is final at once.
 */
import { ClientError, Status } from 'nice-grpc-common';
import pRetry from 'p-retry';

/** Backoff of the retries of one call. */
export interface RetryPolicy {
  /** How long a call may keep failing before it is given up (ms). */
  readonly retryForMs: number;
  /** First pause between attempts (ms), before jitter (x1 to x2). */
  readonly minBackoffMs: number;
  /** Longest pause between attempts (ms). */
  readonly maxBackoffMs: number;
}

const retryableStatuses: ReadonlySet<Status> = new Set([
  Status.RESOURCE_EXHAUSTED,
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.ABORTED,
  Status.INTERNAL,
]);

/** True for the gRPC errors worth another attempt. */
export function isRetryableError(error: unknown): boolean {
  // instanceof ClientError also recognises the SDK's own copy of nice-grpc-common
  return error instanceof ClientError && retryableStatuses.has(error.code);
}

/** Runs `call` until it resolves; rejects with its last error once that error is final or time is up. */
export function retryEngineCall<T>(call: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  return pRetry(call, {
    retries: Number.POSITIVE_INFINITY,
    maxRetryTime: policy.retryForMs,
    minTimeout: policy.minBackoffMs,
    maxTimeout: policy.maxBackoffMs,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => isRetryableError(error),
  });
}
