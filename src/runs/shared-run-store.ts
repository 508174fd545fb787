/**
 * The port to a run log shared by gateway replicas (Redis Streams in
 * `src/redis/`). Each replica keeps a local RunLog per run it serves as a
 * mirror of the shared one, so followers read memory whatever the backend;
 * exactly one replica at a time holds a run's lease and records it, and only
 * the lease holder's appends are accepted (fencing), so two recorders can
 * never interleave events in one log.
 */
import type { RunEvent, RunEventBody } from '../events/run-event.js';
import type { RunLog } from './run-log.js';

/** What every replica must agree on for a run, kept beside its shared log. */
export interface SharedRunInfo {
  /** The shared log's epoch: cursors name it, so they hold on every replica. */
  readonly epoch: string;
  /** The metadata pair the run was triggered with, when a gateway triggered it. */
  readonly correlation: { readonly key: string; readonly value: string } | null;
}

/** A local log kept in step with the shared one. */
export interface SharedRunMirror {
  /** Fetches whatever the local log misses; resolves once it holds every shared event. */
  catchUp(): Promise<void>;
  /** Stops mirroring. */
  close(): Promise<void>;
}

/** The right to record a run, renewed in the background until released or lost. */
export interface SharedRunLease {
  /** Names this holding of the lease: the shared log accepts appends carrying it, and no other. */
  readonly token: string;
  /** Aborted when the lease was lost (expired, or another replica holds it now). */
  readonly lost: AbortSignal;
  /** Gives the run back at once, so another replica can take it over without waiting for expiry. */
  release(): Promise<void>;
}

/** Appends to a shared log in order, fenced by a lease; events reach the local log once stored. */
export interface SharedRunWriter {
  readonly runId: string;
  /** Positions `body` after the last event and queues it for the shared log. */
  append(body: RunEventBody, at: Date): void;
  /** Resolves once every queued event is stored (or the lease is lost). */
  drain(): Promise<void>;
}

export interface SharedRunStore {
  /** Joins the run's shared log, creating its info on first use (the first caller's correlation wins). */
  open(runId: string, correlation?: SharedRunInfo['correlation']): Promise<SharedRunInfo>;
  /**
   * Keeps `log` in step with the shared log: fetches what exists, then every
   * event appended by whichever replica records the run. `onReleased` is
   * called when the holder gives the run back (a takeover can start at once).
   */
  mirror(log: RunLog, onReleased: () => void): Promise<SharedRunMirror>;
  /** Tries to become the run's recorder; null when another replica holds it. */
  claim(runId: string): Promise<SharedRunLease | null>;
  /** Every body of the shared log, oldest first (a new recorder continues after them). */
  bodies(runId: string): Promise<RunEventBody[]>;
  /** A writer that continues the shared log after `lastSeq`, fenced by `lease`. */
  writer(log: RunLog, lease: SharedRunLease, onStored: (event: RunEvent) => void): SharedRunWriter;
  /** Closes the store's connections. */
  close(): Promise<void>;
}
