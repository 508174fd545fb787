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
import { decodeCursor } from './cursor.js';
import { counted, type FollowItem, followRun } from './follow-run.js';
import { lookupRun } from './lookup-run.js';
import { RunLog, type RunLogLimits } from './run-log.js';
import { type RecorderOptions, RunRecorder } from './run-recorder.js';
import type { RunSource } from './run-source.js';
import { RunTap, type RunTapOptions } from './run-tap.js';
import type { SharedRunInfo, SharedRunLease, SharedRunMirror, SharedRunStore } from './shared-run-store.js';

/**
 * The additional-metadata key that identifies a gateway-triggered run, so that
 * a replica taking its recording over listens to it from the start of its
 * listener (by run id, the engine first looks the run up, and may wait).
 */
export const CORRELATION_KEY = 'hatchet-gateway-follow';

/** A run this process triggers: the process's tap records it from before the trigger. */
interface Triggered {
  readonly tap: RunTap;
  readonly metadata: { readonly key: string; readonly value: string };
  /** The tap's listener was not yet confirmed when the run was triggered (see RunTap.confirmed). */
  readonly unconfirmed: boolean;
}

export interface RunHubOptions extends Omit<RecorderOptions, 'logger'> {
  /** How long a finished run's log is kept (ms). */
  readonly retentionMs: number;
  /** Per run: the log keeps at most this many events and bytes (estimated), dropping the oldest. */
  readonly logLimits: RunLogLimits;
  /** All runs: past this many bytes, finished logs are dropped, oldest finished first. */
  readonly maxTotalBytes: number;
  /** How long close() waits for recorders to stop (ms). */
  readonly stopTimeoutMs: number;
  /** Shared log only: how often a replica tries to take over a run whose recorder stopped (ms). */
  readonly takeoverIntervalMs?: number;
  /** The tap's patience with events of runs whose trigger has not answered yet. */
  readonly tap: RunTapOptions;
}

interface Entry {
  readonly runId: string;
  /** Set once the log is open (at once in memory; after joining the shared log with a store). */
  log?: RunLog;
  /** Resolves when followers can read the log: the run is known and the log open. */
  ready: Promise<void>;
  /** Resolves once this replica tried to become the run's recorder (never rejects). */
  joined: Promise<void>;
  /** This process records the run (holds its one engine listener). */
  recorder?: RunRecorder;
  /** Shared log only: resolves once a stopped recorder stored what it queued and gave its lease back. */
  handedBack?: Promise<void>;
  /** Shared log only: the mirror that keeps `log` in step, and what the run was triggered with. */
  mirror?: SharedRunMirror;
  correlation?: SharedRunInfo['correlation'];
  /** Shared log only: retries the lease while another replica records the run. */
  takeoverTimer?: NodeJS.Timeout;
  claiming?: boolean;
  evictTimer?: NodeJS.Timeout;
  finishedAt?: number;
  gone?: boolean;
}

/** Counts for /metrics and tests. */
export interface RunHubStats {
  /** Runs with a log in memory. */
  readonly runs: number;
  /** Engine listeners currently attached: the tap (for the runs triggered here) and `runListeners`. */
  readonly upstreams: number;
  /** Engine listeners of single runs (triggered elsewhere, or taken over from another replica). */
  readonly runListeners: number;
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
  /** One engine listener for every run this process triggers, started with the first. */
  #tap: RunTap | undefined;

  readonly #abort = new AbortController();

  /**
   * @param store a log shared by gateway replicas (REDIS_URL); without it each
   * run's log lives in this process only.
   */
  constructor(
    private readonly source: RunSource,
    private readonly options: RunHubOptions,
    private readonly logger: Logger,
    private readonly store?: SharedRunStore,
  ) {}

  /**
   * Triggers a run with `trigger` and records it from its very first event:
   * the run carries the tap's metadata pair, and the tap listens by it from
   * before the trigger, since the engine keeps no history of what it streamed.
   */
  async startRun(trigger: (metadata: Record<string, string>) => Promise<string>): Promise<string> {
    if (this.#closed) throw new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    this.#tap ??= new RunTap(this.source, this.logger, this.options.tap);
    const tap = this.#tap;
    await tap.ready();
    const unconfirmed = !tap.confirmed;
    const correlation = { key: CORRELATION_KEY, value: randomUUID() };
    const runId = await trigger({ [correlation.key]: correlation.value, [tap.metadata.key]: tap.metadata.value });
    // the run exists now: its id is the answer even if shutdown began meanwhile
    if (!this.#closed) {
      // with a shared log, win the run's lease before anyone else can know the run id:
      // the replica that listened from before the trigger must be the one that records
      await this.record(runId, { tap, metadata: correlation, unconfirmed }).joined;
    }
    return runId;
  }

  /** Starts recording `runId` (or, with a shared log, following whoever records it) unless it already is; idempotent. */
  record(runId: string, triggered?: Triggered): Entry {
    if (this.#closed) throw new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    const existing = this.#entries.get(runId);
    if (existing) return existing;
    let joined: () => void = () => {};
    const entry: Entry = {
      runId,
      ready: Promise.resolve(),
      joined: new Promise<void>((resolve) => {
        joined = resolve;
      }),
    };
    this.#entries.set(runId, entry);
    entry.ready = this.store
      ? this.#joinShared(entry, this.store, joined, triggered)
      : this.#recordHere(entry, triggered);
    // in memory, the recorder exists as soon as record() returns
    if (!this.store) joined();
    entry.ready.catch(() => {
      // unknown run, or no log: forget it, so that a later subscription asks again
      if (this.#entries.get(runId) === entry) this.#evict(entry);
    });
    return entry;
  }

  /** In-memory log: this process records the run, from now until its log is complete. */
  #recordHere(entry: Entry, triggered?: Triggered): Promise<void> {
    const log = new RunLog(entry.runId, this.options.logLimits);
    entry.log = log;
    this.#watchCompletion(entry, log);
    const recorder = new RunRecorder(log, this.source, { ...this.options, logger: this.logger }, triggered);
    entry.recorder = recorder;
    return recorder.ready();
  }

  /**
   * Shared log: joins it (its epoch makes cursors valid on every replica),
   * mirrors it into a local log, and records the run only when this replica
   * wins its lease; otherwise it retries the lease now and then, so the run
   * is taken over when its recorder stops.
   */
  async #joinShared(entry: Entry, store: SharedRunStore, joined: () => void, triggered?: Triggered): Promise<void> {
    try {
      const info = await store.open(entry.runId, triggered?.metadata ?? null);
      if (entry.gone) return;
      const log = new RunLog(entry.runId, this.options.logLimits, info.epoch);
      entry.log = log;
      if (this.#closed) log.interrupt(shuttingDown());
      entry.correlation = info.correlation;
      this.#watchCompletion(entry, log);
      entry.mirror = await store.mirror(log, () => void this.#takeOver(entry, store));
      if (entry.gone) {
        await entry.mirror.close();
        return;
      }
      if (!log.complete) await this.#takeOver(entry, store, triggered);
      joined();
      if (entry.recorder) return await entry.recorder.ready();
      if (log.lastSeq === 0) {
        // another replica records it, or nobody yet: the run must exist either way
        await lookupRun(this.source, entry.runId, this.options.lookupTimeoutMs, this.#abort.signal);
      }
      if (!log.complete && !entry.gone) this.#scheduleTakeover(entry, store);
    } finally {
      joined();
    }
  }

  /** Tries to become the run's recorder: wins its lease, or leaves it to the replica that holds it. */
  async #takeOver(entry: Entry, store: SharedRunStore, triggered?: Triggered): Promise<void> {
    const log = entry.log;
    if (!log || entry.recorder || entry.claiming || entry.gone || log.complete || this.#closed) return;
    entry.claiming = true;
    let lease: SharedRunLease | null = null;
    try {
      const held = await store.claim(entry.runId);
      lease = held;
      if (!held) return;
      // the previous holder can write no more: read all it wrote, then continue after it
      await entry.mirror?.catchUp();
      if (log.complete || entry.gone || this.#closed) {
        await held.release();
        return;
      }
      // a run a gateway triggered is a takeover here even with nothing logged yet: its
      // recorder (the triggering replica) stopped before storing anything
      const takingOver =
        log.lastSeq > 0 || (entry.correlation !== null && entry.correlation !== undefined && !triggered);
      const resumeFrom = takingOver ? await store.bodies(entry.runId) : undefined;
      if (entry.gone || this.#closed) {
        await held.release();
        return;
      }
      const writer = store.writer(log, held, (event) => log.restore(event));
      const metadata = entry.correlation ?? undefined;
      const recorder = new RunRecorder(
        writer,
        this.source,
        { ...this.options, logger: this.logger },
        metadata
          ? { ...(triggered ? { tap: triggered.tap, unconfirmed: triggered.unconfirmed } : {}), metadata }
          : undefined,
        resumeFrom,
      );
      entry.recorder = recorder;
      if (resumeFrom) this.logger.info({ runId: entry.runId, after: log.lastSeq }, 'took over recording a run');
      const onLost = () => {
        this.logger.warn({ runId: entry.runId }, 'lost the lease of a run; another replica records it');
        void recorder.stop();
      };
      held.lost.addEventListener('abort', onLost, { once: true });
      // lost while catching up: an abort before addEventListener is never heard
      if (held.lost.aborted) onLost();
      entry.handedBack = recorder.done.then(async () => {
        held.lost.removeEventListener('abort', onLost);
        await writer.drain();
        await held.release();
        if (entry.recorder === recorder) delete entry.recorder;
        if (!log.complete && !entry.gone && !this.#closed) this.#scheduleTakeover(entry, store);
      });
    } catch (error) {
      // a lease won but not used would be renewed for nothing and keep every replica out
      if (lease && !entry.recorder) await lease.release();
      this.logger.warn({ runId: entry.runId, err: error }, 'could not take over a run; will retry');
    } finally {
      entry.claiming = false;
    }
  }

  #scheduleTakeover(entry: Entry, store: SharedRunStore): void {
    if (entry.takeoverTimer) return;
    const every = this.options.takeoverIntervalMs ?? 1_000;
    entry.takeoverTimer = setInterval(() => void this.#takeOver(entry, store), every);
    entry.takeoverTimer.unref();
  }

  /** Once the log is complete: keep it for late joiners for retentionMs, then forget it. */
  #watchCompletion(entry: Entry, log: RunLog): void {
    const stop = log.onAppend(() => {
      if (!log.complete) return;
      stop();
      clearInterval(entry.takeoverTimer);
      if (this.#closed || entry.gone) return;
      entry.finishedAt = Date.now();
      entry.evictTimer = setTimeout(() => this.#evict(entry), this.options.retentionMs);
      entry.evictTimer.unref();
      this.#enforceMemoryCap();
    });
  }

  /** Forgets a run: its timers, its mirror; a recorder still running is stopped. */
  #evict(entry: Entry): void {
    entry.gone = true;
    if (this.#entries.get(entry.runId) === entry) this.#entries.delete(entry.runId);
    clearTimeout(entry.evictTimer);
    clearInterval(entry.takeoverTimer);
    void entry.recorder?.stop();
    void entry.mirror?.close();
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
    const entry = this.record(runId);
    await entry.ready;
    const log = entry.log as RunLog;
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
    let runListeners = 0;
    let events = 0;
    let bytes = 0;
    for (const { log, recorder } of this.#entries.values()) {
      runListeners += recorder?.upstreams ?? 0;
      events += log?.size ?? 0;
      bytes += log?.bytes ?? 0;
    }
    const upstreams = runListeners + (this.#tap?.upstreams ?? 0);
    return { runs: this.#entries.size, upstreams, runListeners, subscribers: this.#subscribers, events, bytes };
  }

  /** Drops finished logs, oldest finished first, while all logs hold more than maxTotalBytes. */
  #enforceMemoryCap(): void {
    let total = 0;
    for (const { log } of this.#entries.values()) total += log?.bytes ?? 0;
    if (total <= this.options.maxTotalBytes) return;
    const finished = [...this.#entries.entries()]
      .filter(([, e]) => e.finishedAt !== undefined)
      .sort(([, a], [, b]) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
    for (const [runId, entry] of finished) {
      if (total <= this.options.maxTotalBytes) break;
      this.#evict(entry);
      total -= entry.log?.bytes ?? 0;
      this.logger.info({ runId }, 'dropped a finished run log: over RUN_LOGS_MAX_BYTES');
    }
  }

  /**
   * Stops every recorder and eviction timer. Followers of unfinished runs get
   * what the log holds, then a SHUTTING_DOWN error, so they resume elsewhere.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    const entries = [...this.#entries.values()];
    const reason = shuttingDown();
    for (const entry of entries) {
      clearTimeout(entry.evictTimer);
      clearInterval(entry.takeoverTimer);
      entry.log?.interrupt(reason);
    }
    // a recorder waiting on an engine that does not answer must not hold shutdown;
    // with a shared log, a stopped recorder stores what it queued and gives its lease back
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(
        entries.map(async (e) => {
          await e.recorder?.stop();
          await e.handedBack;
        }),
      ),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.options.stopTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    await Promise.all(entries.map((e) => e.mirror?.close()));
    await this.#tap?.close();
    this.#entries.clear();
  }
}

/** What followers of an unfinished run get when this gateway stops. */
function shuttingDown(): GatewayError {
  return new GatewayError(
    'SHUTTING_DOWN',
    'The gateway is shutting down; subscribe again (with your last cursor; on CURSOR_EXPIRED, without it).',
  );
}
