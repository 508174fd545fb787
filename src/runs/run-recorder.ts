/**
 * Records one run into its log: the single upstream of a run, whatever the
 * number of subscribers. It listens to the engine and reconciles with the
 * run's REST state, feeding both through the pure RunTracker, until the run is
 * terminal and its log complete.
 *
 * Why both sources: the listener is the only source of stream chunks, but it
 * misses what happened before it attached, it returns nothing for finished
 * runs, and engine v0.105 hangs DAG listeners up early with a false COMPLETED.
 * REST state is the truth for statuses and outputs. The recorder re-attaches
 * the listener after every hangup or error until REST shows the run finished.
 */
import type { Logger } from 'pino';
import type { EngineEvent, RunSnapshot, TaskSnapshot } from '../events/engine-event.js';
import type { RunEventBody } from '../events/run-event.js';
import { RunTracker, unsureReasons } from '../events/run-tracker.js';
import type { EagerStream } from './eager-stream.js';
import { lookupRun, sleep } from './lookup-run.js';
import type { ListenTarget, RunSource } from './run-source.js';

/** Where a recorder appends: the run log itself, or a writer to a shared log. */
export interface RunLogSink {
  readonly runId: string;
  append(body: RunEventBody, at: Date): unknown;
}

/** How a recorder is tied to its run's events before and after a trigger. */
export interface Correlation {
  /** The listener opened before the trigger (only on the replica that triggered). */
  readonly early?: EagerStream<EngineEvent>;
  /** The metadata pair the run was triggered with; listeners by it start at once. */
  readonly metadata: { readonly key: string; readonly value: string };
}

export interface RecorderOptions {
  /** How often REST state is read while the listener is attached (ms). */
  readonly reconcileIntervalMs: number;
  /** How long a terminal REST state must stand before the listener is no longer awaited for it (ms). */
  readonly settleMs: number;
  /** How long the engine may take to know a run before RUN_NOT_FOUND (ms). */
  readonly lookupTimeoutMs: number;
  /** How long an event of an unnamed step waits for REST to name it (ms). */
  readonly nameWaitMs: number;
  readonly logger: Logger;
}

export class RunRecorder {
  readonly #tracker: RunTracker;
  readonly #abort = new AbortController();
  readonly #terminalSeen = new Map<string, number>();
  #runTerminalSince: number | null = null;
  /** Since when REST has shown the run FAILED: between a failed attempt and its retry it briefly does. */
  #failedSince: number | null = null;
  #chain: Promise<void> = Promise.resolve();
  #listenerAttached = false;
  /** The engine sent a run-level (terminal, or early DAG) event: REST decides now. */
  #sawRunEvent = false;
  /** When the listener last delivered an event (ms): a listener still delivering is not done. */
  #lastEventAt = 0;
  readonly #ready: Promise<RunSnapshot>;
  /** Resolves when the recorder stopped: log complete, stopped, or failed. */
  readonly done: Promise<void>;

  readonly #early: EagerStream<EngineEvent> | undefined;
  readonly #target: ListenTarget;

  readonly #resumed: boolean;
  /** Listening by the metadata the run was triggered with, from before the trigger. */
  readonly #correlated: boolean;

  /**
   * `correlated`: for runs the gateway triggered, the listener opened before
   * the trigger and the metadata pair it listens by. That listener is the
   * first attachment, so the run's first events are kept, and re-attachments
   * use the same pair: listening by metadata starts at once, while listening by
   * run id first looks the run up (and may wait a second) on the engine.
   *
   * `resumeFrom`: the bodies a recorder that stopped (another replica) already
   * logged; this one continues after them.
   */
  constructor(
    readonly log: RunLogSink,
    private readonly source: RunSource,
    private readonly options: RecorderOptions,
    correlated?: Correlation,
    resumeFrom?: Iterable<RunEventBody>,
  ) {
    this.#tracker = new RunTracker(log.runId);
    this.#resumed = resumeFrom !== undefined;
    if (resumeFrom) this.#tracker.resume(resumeFrom);
    const early = correlated?.early;
    this.#early = early;
    this.#target = correlated ? { metadata: correlated.metadata } : { runId: log.runId };
    this.#correlated = correlated !== undefined;
    if (early) this.#abort.signal.addEventListener('abort', () => early.close(), { once: true });
    this.#ready = lookupRun(source, log.runId, options.lookupTimeoutMs, this.#abort.signal);
    this.#ready.catch(() => {}); // observed through ready() and done
    this.done = this.#run();
  }

  get runId(): string {
    return this.log.runId;
  }

  /** Resolves once the engine knows the run; rejects with RUN_NOT_FOUND or ENGINE_UNAVAILABLE. */
  ready(): Promise<void> {
    return this.#ready.then(() => {});
  }

  /** 1 while an engine listener is attached, else 0. */
  get upstreams(): number {
    return this.#listenerAttached ? 1 : 0;
  }

  /** Stops recording (shutdown); the log stays as it is. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted || this.#tracker.finished;
  }

  async #run(): Promise<void> {
    // listen at once, in parallel with the lookup: a run's first events do not wait
    const listening = this.#listenLoop();
    let first: RunSnapshot;
    try {
      first = await this.#ready;
    } catch {
      this.#abort.abort();
      await listening;
      return;
    }
    this.#tracker.learnNames(first);
    if (this.#resumed) this.#tracker.markUnsure(first, unsureReasons.takeover);
    // a run triggered elsewhere: what its steps streamed before this moment is gone
    else if (!this.#correlated) this.#tracker.markUnsure(first, unsureReasons.lateStart);
    await this.#serial(() => this.#reconcile(first));
    while (!this.#stopped) {
      const interval =
        this.#sawRunEvent || this.#runTerminalSince !== null
          ? 50
          : this.#listenerAttached
            ? this.options.reconcileIntervalMs
            : 200;
      await sleep(interval, this.#abort.signal);
      if (this.#stopped) break;
      await this.#serial(() => this.#reconcileFromEngine());
    }
    this.#abort.abort(); // ends the listener once the log is complete
    await listening;
  }

  async #listenLoop(): Promise<void> {
    let failures = 0;
    let stream: AsyncIterable<EngineEvent> | undefined = this.#early;
    while (!this.#stopped) {
      this.#listenerAttached = true;
      let hungUp = false;
      try {
        for await (const event of stream ?? this.source.listen(this.#target, this.#abort.signal)) {
          failures = 0;
          this.#lastEventAt = Date.now();
          // child runs inherit their parent's metadata, so a listener by
          // correlation also carries their events: they are not this run's
          if (event.workflowRunId && event.workflowRunId !== this.runId) continue;
          await this.#serial(() => this.#onEngineEvent(event));
          // a run-level event means "look at REST now"
          if (event.resourceType === 'WORKFLOW_RUN') this.#sawRunEvent = true;
          if (event.hangup) {
            hungUp = true;
            break;
          }
        }
      } catch (error) {
        failures++;
        this.options.logger.warn({ runId: this.runId, err: error }, 'engine listener failed; re-attaching');
      } finally {
        this.#listenerAttached = false;
        this.#early?.close();
        stream = undefined;
      }
      if (this.#stopped) break;
      // Re-attach first, reconcile after: chunks published while no listener
      // is attached are lost for good. A hangup on a running run is the engine's
      // early DAG hangup; the reconcile below finishes the log if the run is done.
      // after an error, wait before re-attaching; the doubt is raised from a snapshot
      // taken when the listener is about to attach again, so steps that ran meanwhile count
      if (!hungUp) await sleep(Math.min(2000, 100 * 2 ** failures), this.#abort.signal);
      if (this.#stopped) break;
      void this.#serial(() => this.#reconcileFromEngine(unsureReasons.reattach));
    }
  }

  /** Serializes every read-and-append so the log order is the processing order. */
  #serial(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step).catch((error: unknown) => {
      this.options.logger.warn({ runId: this.runId, err: error }, 'run reconciliation failed; will retry');
    });
    this.#chain = next;
    return next;
  }

  async #onEngineEvent(event: EngineEvent): Promise<void> {
    if (this.#tracker.finished) return;
    if (event.resourceType === 'STEP_RUN' && !this.#tracker.hasStep(event.resourceId)) {
      // A new step: first say what REST knows of the steps before it (the
      // listener may have missed their end), so the log keeps the DAG's order.
      await this.#reconcileFromEngine().catch(() => {});
      if (!this.#tracker.knowsTask(event.resourceId)) await this.#waitForName(event.resourceId);
    }
    this.#append(
      this.#tracker.fromEngineEvent(event, Date.now()),
      event.timestamp ? new Date(event.timestamp) : new Date(),
    );
  }

  async #waitForName(taskId: string): Promise<void> {
    const deadline = Date.now() + this.options.nameWaitMs;
    while (!this.#tracker.knowsTask(taskId) && Date.now() < deadline && !this.#abort.signal.aborted) {
      const snapshot = await this.source.snapshot(this.runId).catch(() => null);
      if (snapshot) this.#tracker.learnNames(snapshot);
      if (!this.#tracker.knowsTask(taskId)) await sleep(100, this.#abort.signal);
    }
    if (!this.#tracker.knowsTask(taskId)) {
      this.options.logger.warn({ runId: this.runId, taskId }, 'no step name for task; using "unknown"');
      this.#tracker.nameTask(taskId, 'unknown');
    }
  }

  /** `unsure`: no listener was attached for a while; steps that ran meanwhile may have lost chunks. */
  async #reconcileFromEngine(unsure?: string): Promise<void> {
    const snapshot = await this.source.snapshot(this.runId);
    if (!snapshot) return;
    if (unsure) this.#tracker.markUnsure(snapshot, unsure, true);
    await this.#reconcile(snapshot);
  }

  async #reconcile(snapshot: RunSnapshot): Promise<void> {
    if (this.#tracker.finished) return;
    const now = Date.now();
    const runTerminal = ['COMPLETED', 'FAILED', 'CANCELLED'].includes(snapshot.status);
    if (runTerminal) this.#runTerminalSince ??= now;
    else {
      // that was the early DAG hangup, or the pause before a retry: not the end
      this.#sawRunEvent = false;
      this.#runTerminalSince = null;
    }
    // a retried task is running again: its next end is timed afresh
    for (const task of snapshot.tasks) {
      if (task.status === 'RUNNING' || task.status === 'QUEUED') this.#terminalSeen.delete(task.taskId);
    }
    // After the engine's run-level event, or without a listener, nothing more
    // of the run can arrive: trust REST at once. Otherwise wait for the
    // listener's run-level event while it keeps delivering (an overloaded
    // gateway reads its backlog late: REST's "finished" is no sign that every
    // chunk was read), and give up after settleMs of silence, or at the latest
    // after 120 times that; giving up says so with a StreamGap.
    const sinceTerminal = now - (this.#runTerminalSince ?? now);
    const quiet = now - this.#lastEventAt >= this.options.settleMs;
    const gaveUp =
      runTerminal &&
      !this.#sawRunEvent &&
      this.#listenerAttached &&
      sinceTerminal >= this.options.settleMs &&
      (quiet || sinceTerminal >= this.options.settleMs * 120);
    // a FAILED that has not stood for settleMs may be the gap before a retry starts
    // (the engine also sends a run-level FAILED then): wait before believing it
    this.#failedSince = snapshot.status === 'FAILED' ? (this.#failedSince ?? now) : null;
    const failureStood = this.#failedSince === null || now - this.#failedSince >= this.options.settleMs;
    const canFinish = runTerminal && failureStood && (this.#sawRunEvent || !this.#listenerAttached || gaveUp);
    const settled = (task: TaskSnapshot): boolean => {
      if (canFinish || !this.#listenerAttached) return true;
      const seen = this.#terminalSeen.get(task.taskId) ?? now;
      this.#terminalSeen.set(task.taskId, seen);
      // a listener still delivering may yet bring this step's last chunks and its end
      return now - seen >= this.options.settleMs && quiet;
    };
    this.#append(this.#tracker.flushStale(now), new Date(now));
    this.#append(this.#tracker.fromSnapshot(snapshot, settled), new Date(now));
    if (canFinish) {
      if (gaveUp)
        this.options.logger.warn({ runId: this.runId }, 'no run-level event from the engine; finishing from REST');
      this.#append(
        this.#tracker.finishFromSnapshot(snapshot, gaveUp ? unsureReasons.settle : undefined),
        new Date(now),
      );
    }
  }

  #append(bodies: readonly RunEventBody[], at: Date): void {
    for (const body of bodies) this.log.append(body, at);
  }
}
