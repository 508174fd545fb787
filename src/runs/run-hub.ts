/**
 * The runs this gateway records and the clients that follow them: one log and
 * at most one recorder (one engine listener) per run, however many clients
 * follow it. Recording starts when the gateway triggers a run, or at the first
 * subscription to a run triggered elsewhere. Finished logs are kept for
 * `retentionMs` so late joiners and reconnecting clients get the whole run.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { EngineEvent } from '../events/engine-event.js';
import { decodeCursor } from './cursor.js';
import { type EagerStream, eagerStream } from './eager-stream.js';
import { counted, type FollowItem, followRun } from './follow-run.js';
import { RunLog, type RunLogLimits } from './run-log.js';
import { type RecorderOptions, RunRecorder } from './run-recorder.js';
import type { RunSource } from './run-source.js';

/** The additional-metadata key that ties a gateway-triggered run to its pre-trigger listener. */
export const CORRELATION_KEY = 'hatchet-gateway-follow';

export interface RunHubOptions extends Omit<RecorderOptions, 'logger'> {
  /** How long a finished run's log is kept (ms). */
  readonly retentionMs: number;
  /** Per run: the log keeps at most this many events and bytes (estimated), dropping the oldest. */
  readonly logLimits: RunLogLimits;
  /** All runs: past this many bytes, finished logs are dropped, oldest finished first. */
  readonly maxTotalBytes: number;
  /** How long close() waits for recorders to stop (ms). */
  readonly stopTimeoutMs: number;
}

interface Entry {
  readonly log: RunLog;
  readonly recorder: RunRecorder;
  evictTimer?: NodeJS.Timeout;
  finishedAt?: number;
}

/** Counts for /metrics and tests. */
export interface RunHubStats {
  /** Runs with a log in memory. */
  readonly runs: number;
  /** Engine listeners currently attached (at most one per run). */
  readonly upstreams: number;
  /** Clients currently following a run. */
  readonly subscribers: number;
  /** Events held in all logs. */
  readonly events: number;
  /** Estimated bytes held in all logs. */
  readonly bytes: number;
}

export class RunHub {
  readonly #entries = new Map<string, Entry>();
  #subscribers = 0;
  #closed = false;

  constructor(
    private readonly source: RunSource,
    private readonly options: RunHubOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Triggers a run with `trigger` and records it from its very first event:
   * a listener keyed by a correlation metadata pair is opened before the
   * trigger, since the engine keeps no history of what it streamed.
   */
  async startRun(trigger: (correlation: Record<string, string>) => Promise<string>): Promise<string> {
    if (this.#closed) throw new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    const correlation = { key: CORRELATION_KEY, value: randomUUID() };
    const abort = new AbortController();
    const early = eagerStream(this.source.listen({ metadata: correlation }, abort.signal), abort);
    // let the listener's request go out before the trigger's
    await new Promise((resolve) => setImmediate(resolve));
    let runId: string;
    try {
      runId = await trigger({ [correlation.key]: correlation.value });
    } catch (error) {
      early.close();
      throw error;
    }
    // the run exists now: its id is the answer even if shutdown began meanwhile
    if (this.#closed) early.close();
    else this.record(runId, { early, metadata: correlation });
    return runId;
  }

  /** Starts recording `runId` unless it already is; idempotent. */
  record(
    runId: string,
    correlated?: { readonly early: EagerStream<EngineEvent>; readonly metadata: { key: string; value: string } },
  ): RunLog {
    if (this.#closed) {
      correlated?.early.close();
      throw new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    }
    const existing = this.#entries.get(runId);
    if (existing) {
      correlated?.early.close();
      return existing.log;
    }
    const log = new RunLog(runId, this.options.logLimits);
    const recorder = new RunRecorder(log, this.source, { ...this.options, logger: this.logger }, correlated);
    const entry: Entry = { log, recorder };
    this.#entries.set(runId, entry);
    recorder.ready().catch(() => {
      // unknown run: forget it, so that a later subscription asks the engine again
      if (this.#entries.get(runId) === entry) this.#entries.delete(runId);
    });
    recorder.done.then(() => {
      if (!log.complete || this.#closed) return;
      entry.finishedAt = Date.now();
      entry.evictTimer = setTimeout(() => {
        if (this.#entries.get(runId) === entry) this.#entries.delete(runId);
      }, this.options.retentionMs);
      entry.evictTimer.unref();
      this.#enforceMemoryCap();
    });
    return log;
  }

  /**
   * Follows a run from after `cursor` (from its first event when absent):
   * replay, then live events, then completion after the terminal event.
   * Rejects with RUN_NOT_FOUND, BAD_USER_INPUT or CURSOR_EXPIRED.
   */
  async follow(runId: string, cursor: string | null | undefined): Promise<AsyncIterableIterator<FollowItem>> {
    let afterSeq = 0;
    let epoch: string | undefined;
    if (cursor) {
      const decoded = decodeCursor(cursor);
      if (!decoded) throw new GatewayError('BAD_USER_INPUT', 'The `after` cursor is malformed.');
      if (decoded.runId !== runId)
        throw new GatewayError('BAD_USER_INPUT', 'The `after` cursor belongs to another run.');
      afterSeq = decoded.seq;
      epoch = decoded.epoch;
    }
    const log = this.record(runId);
    await (this.#entries.get(runId) as Entry).recorder.ready();
    if (epoch !== undefined && epoch !== log.epoch) {
      throw new GatewayError(
        'CURSOR_EXPIRED',
        'This cursor points into a run log the gateway no longer holds (restart or retention). Subscribe without `after` to replay the run from its start.',
      );
    }
    if (cursor && !log.covers(afterSeq)) {
      throw new GatewayError(
        'CURSOR_EXPIRED',
        'The events after this cursor are no longer kept (the run log is over its retention limits). Subscribe without `after` to get the events still kept.',
      );
    }
    if (!cursor) afterSeq = log.oldestSeq - 1;
    if (afterSeq > log.lastSeq && log.complete) {
      throw new GatewayError('BAD_USER_INPUT', 'The `after` cursor is past the end of the run.');
    }
    return counted(
      followRun(log, afterSeq),
      () => {
        this.#subscribers++;
      },
      () => {
        this.#subscribers--;
      },
    );
  }

  stats(): RunHubStats {
    let upstreams = 0;
    let events = 0;
    let bytes = 0;
    for (const { log, recorder } of this.#entries.values()) {
      upstreams += recorder.upstreams;
      events += log.size;
      bytes += log.bytes;
    }
    return { runs: this.#entries.size, upstreams, subscribers: this.#subscribers, events, bytes };
  }

  /** Drops finished logs, oldest finished first, while all logs hold more than maxTotalBytes. */
  #enforceMemoryCap(): void {
    let total = 0;
    for (const { log } of this.#entries.values()) total += log.bytes;
    if (total <= this.options.maxTotalBytes) return;
    const finished = [...this.#entries.entries()]
      .filter(([, e]) => e.finishedAt !== undefined)
      .sort(([, a], [, b]) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const [runId, entry] of finished) {
      if (total <= this.options.maxTotalBytes) break;
      clearTimeout(entry.evictTimer);
      this.#entries.delete(runId);
      total -= entry.log.bytes;
      this.logger.info({ runId }, 'dropped a finished run log: over RUN_LOGS_MAX_BYTES');
    }
  }

  /**
   * Stops every recorder and eviction timer. Followers of unfinished runs get
   * what the log holds, then a SHUTTING_DOWN error, so they resume elsewhere.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    const reason = new GatewayError(
      'SHUTTING_DOWN',
      'The gateway is shutting down; subscribe again (with your last cursor; on CURSOR_EXPIRED, without it).',
    );
    for (const entry of entries) {
      clearTimeout(entry.evictTimer);
      entry.log.interrupt(reason);
    }
    // a recorder waiting on an engine that does not answer must not hold shutdown
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(entries.map((e) => e.recorder.stop())),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.options.stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#entries.clear();
  }
}
