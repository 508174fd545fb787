/** Waiting for the engine to know a run, and an abortable sleep for the loops that poll it. */
import { GatewayError } from '../errors.js';
import type { RunSnapshot } from '../events/engine-event.js';
import type { RunSource } from './run-source.js';

/**
 * Resolves with the run's REST state once the engine knows it. REST can lag
 * behind a trigger, and a passing engine error must not fail a lookup that
 * would succeed a moment later: it retries until `timeoutMs`, then rejects
 * with RUN_NOT_FOUND (or the engine's last error, ENGINE_UNAVAILABLE).
 */
export async function lookupRun(
  source: RunSource,
  runId: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<RunSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (signal.aborted) throw new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    try {
      const snapshot = await source.snapshot(runId);
      if (snapshot) return snapshot;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      if (lastError) throw lastError;
      throw new GatewayError('RUN_NOT_FOUND', `Run ${runId} is not known to the engine.`);
    }
    await sleep(250, signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
