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
 *
 * When the log may end: a run is over when REST says so, but its last chunks
 * may still be on their way. On an engine that orders a run's finish after the
 * run's step events (our sidecar's patch; see the README), the run-level
 * event is the end. Elsewhere, a run whose streams were all closed by the
 * worker kit's close frames is known to be complete; any other run waits for
 * its listener's silence. A counted stream whose close frame never comes is
 * settled with the receipt the step wrote to its log.
 */
import type { Logger } from 'pino';
import type { EngineEvent, RunSnapshot, TaskSnapshot } from '../events/engine-event.js';
import type { RunEventBody } from '../events/run-event.js';
import { RunTracker, unsureReasons } from '../events/run-tracker.js';
import { decideFinish, settleOpenStream } from './finish-policy.js';
import { lookupRun, sleep } from './lookup-run.js';
import type { ListenTarget, RunSource } from './run-source.js';
import type { RunTap } from './run-tap.js';

/** Where a recorder appends: the run log itself, or a writer to a shared log. */
export interface RunLogSink {
  readonly runId: string;
  append(body: RunEventBody, at: Date): unknown;
}

/** How a recorder is tied to its run's events before and after a trigger. */
export interface Correlation {
  /** The process's one listener for the runs it triggers, attached before the trigger (only on the replica that triggered). */
  readonly tap?: RunTap;
  /** The tap's listener was not confirmed at the trigger: the engine may have missed the run's first events. */
  readonly unconfirmed?: boolean;
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
  /**
   * The engine delivers a run's finish only after the run's step events (our
   * sidecar's ordered-finish patch): the run-level event is then the end
   * of every stream of the run. Hatchet's own engine does not promise it.
   */
  readonly orderedFinish: boolean;
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
  /**
   * The status of the engine's last run-level event (its finish; on engines
   * without our patches also a DAG's status change): it is the run's end once
   * REST shows the same terminal status. REST may show it a moment after the
   * event, and a FAILED run may yet retry, so the two must agree.
   */
  #runEvent: string | null = null;
  #runEventAt = 0;
  /** When the listener last delivered an event (ms): a listener still delivering is not done. */
  #lastEventAt = 0;
  /** Events the listener delivered for this run, for the logs. */
  #heard = 0;
  /** The listener was re-attached after the run may have ended: its run-level event may be lost. */
  #runEventMayBeLost = false;
  /** The last REST state read, and when: waiting for a finished run's last events needs no new read each time. */
  #lastSnapshot: RunSnapshot | null = null;
  /** When the REST state last used was read (ms): an older read (the lookup's, read before others) says nothing new. */
  #lastSnapshotAt = 0;
  readonly #createdAt = Date.now();
  /** The log says once that a finished run waits long for its last events. */
  #saidWaiting = false;
  /** Step attempts whose receipts were read already (`taskId:attempt`). */
  readonly #receiptsRead = new Set<string>();
  /** Ends the loop's current wait early: the engine's run-level event asks for REST at once. */
  #poke: (() => void) | undefined;
  readonly #ready: Promise<RunSnapshot>;
  /** Resolves when the recorder stopped: log complete, stopped, or failed. */
  readonly done: Promise<void>;

  readonly #tap: RunTap | undefined;
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
    this.#tap = correlated?.tap;
    // the engine may not have listened yet when the run began: its end may be lost as well
    this.#runEventMayBeLost = correlated?.unconfirmed === true;
    this.#target = correlated ? { metadata: correlated.metadata } : { runId: log.runId };
    this.#correlated = correlated !== undefined;
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

  /** 1 while an engine listener of its own is attached, else 0 (the tap counts itself). */
  get upstreams(): number {
    return this.#listenerAttached && !this.#tap ? 1 : 0;
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
    await this.#serial(() => this.#reconcile(first, this.#createdAt));
    while (!this.#stopped) {
      await this.#nap(this.#tickMs());
      if (this.#stopped) break;
      const snapshot = this.#lastSnapshot;
      // a finished run's last events are awaited on the REST state already read; it is read
      // again now and then, since a FAILED run may yet retry
      const fresh = !snapshot || Date.now() - this.#lastSnapshotAt >= this.#restIntervalMs();
      await this.#serial(() =>
        fresh || !snapshot ? this.#reconcileFromEngine() : this.#reconcile(snapshot, this.#lastSnapshotAt),
      );
    }
    this.#abort.abort(); // ends the listener once the log is complete
    await listening;
    if (this.#tracker.finished) this.#tap?.forget(this.runId);
  }

  async #listenLoop(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      this.#listenerAttached = true;
      let hungUp = false;
      try {
        const events = this.#tap
          ? this.#tap.listen(this.runId, this.#abort.signal)
          : this.source.listen(this.#target, this.#abort.signal);
        for await (const event of events) {
          failures = 0;
          this.#heard++;
          this.#lastEventAt = Date.now();
          // child runs inherit their parent's metadata, so a listener by
          // correlation also carries their events: they are not this run's
          if (event.workflowRunId && event.workflowRunId !== this.runId) continue;
          await this.#serial(() => this.#onEngineEvent(event));
          // a run-level event means "look at REST now"
          if (event.resourceType === 'WORKFLOW_RUN') {
            this.#runEvent = event.eventType;
            this.#runEventAt = Date.now();
            this.#poke?.();
          }
          if (event.hangup) {
            hungUp = true;
            break;
          }
        }
        // the tap's listener ended (for every run): the tap listens again at once, so may we
        if (this.#tap) hungUp = true;
      } catch (error) {
        failures++;
        this.options.logger.warn({ runId: this.runId, err: error }, 'engine listener failed; re-attaching');
      } finally {
        this.#listenerAttached = false;
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

  /**
   * How often the run's REST state is read: every RECONCILE_INTERVAL_MS while
   * it runs and its listener is attached; often just after the engine's
   * run-level event (REST shows the end a moment after it); twice per settle
   * period while a finished run's last events are awaited; often while no
   * listener is attached (REST is the only source then).
   */
  #restIntervalMs(): number {
    if (this.#runTerminalSince !== null) return Math.max(250, this.options.settleMs / 2);
    if (this.#runEvent !== null && Date.now() - this.#runEventAt < 5_000) return 100;
    return this.#listenerAttached ? this.options.reconcileIntervalMs : 200;
  }

  /** Waits `ms`, or less: until the recorder stops or is poked. */
  #nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.#abort.signal;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#poke = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#poke = done;
    });
  }

  /** How often the recorder looks again: its waits are judged locally, with no REST read, every 50 ms. */
  #tickMs(): number {
    const waiting = this.#runTerminalSince !== null || this.#tracker.openStreams().length > 0;
    return waiting ? 50 : this.#restIntervalMs();
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
    const readAt = Date.now();
    const snapshot = await this.source.snapshot(this.runId);
    if (!snapshot) return;
    // still running after the tap's listener was confirmed: its end will be published while the
    // engine listens, so it is not lost (the doubt of a re-attachment is about what came before)
    const confirmedAt = this.#tap?.confirmedAt ?? null;
    if (!unsure && !isTerminal(snapshot) && confirmedAt !== null && confirmedAt <= readAt) {
      this.#runEventMayBeLost = false;
    }

    if (unsure) {
      this.#tracker.markUnsure(snapshot, unsure, true);
      // the engine may have published the run's end before it took the new listener in (nothing
      // tells when it did): the run's end may be lost, and silence decides
      this.#runEventMayBeLost = true;
    }
    await this.#reconcile(snapshot, readAt);
  }

  /** `readAt`: when the snapshot was read; one read before the last one used is stale (a run seems to run again). */
  async #reconcile(snapshot: RunSnapshot, readAt: number): Promise<void> {
    if (this.#tracker.finished || readAt < this.#lastSnapshotAt) return;
    this.#lastSnapshot = snapshot;
    this.#lastSnapshotAt = readAt;
    const now = Date.now();
    if (isTerminal(snapshot)) this.#runTerminalSince ??= now;
    else if (this.#runTerminalSince !== null) {
      // it ended, and runs again: a retry after a failed attempt; its end is still to come
      this.#runEvent = null;
      this.#runTerminalSince = null;
      this.#runEventMayBeLost = false;
    }
    const sawRunEvent = this.#runEvent !== null && this.#runEvent === snapshot.status;
    this.#failedSince = snapshot.status === 'FAILED' ? (this.#failedSince ?? now) : null;
    // a retried task is running again: its next end is timed afresh
    for (const task of snapshot.tasks) {
      if (task.status === 'RUNNING' || task.status === 'QUEUED') this.#terminalSeen.delete(task.taskId);
    }
    const settleMs = this.options.settleMs;
    const quiet = now - this.#lastEventAt >= settleMs;
    let decision = decideFinish({
      now,
      settleMs,
      terminalSince: this.#runTerminalSince,
      failedSince: this.#failedSince,
      lastEventAt: this.#lastEventAt,
      sawRunEvent,
      orderedFinish: this.options.orderedFinish,
      accounted: this.#tracker.accountedFor(snapshot),
      listenerAttached: this.#listenerAttached,
      runEventMayBeLost: this.#runEventMayBeLost,
    });
    if (
      !decision.canFinish &&
      !this.#saidWaiting &&
      this.#runTerminalSince !== null &&
      now - this.#runTerminalSince > 5_000
    ) {
      this.#saidWaiting = true;
      this.options.logger.info(
        {
          runId: this.runId,
          runEvent: this.#runEvent,
          heard: this.#heard,
          status: snapshot.status,
          mayBeLost: this.#runEventMayBeLost,
          attached: this.#listenerAttached,
          quietMs: now - this.#lastEventAt,
          open: this.#tracker.openStreams(),
        },
        'a finished run still waits for its last events',
      );
    }
    const settledTask = (task: TaskSnapshot): boolean => {
      if (decision.canFinish || !this.#listenerAttached) return true;
      const seen = this.#terminalSeen.get(task.taskId) ?? now;
      this.#terminalSeen.set(task.taskId, seen);
      // a listener still delivering may yet bring this step's last chunks and its end
      return now - seen >= settleMs && quiet;
    };
    this.#append(this.#tracker.flushStale(now), new Date(now));
    this.#append(this.#tracker.fromSnapshot(snapshot, settledTask, now), new Date(now));
    // Silence is no proof on an engine that may deliver a run's end before its
    // chunks: a step of which nothing counted arrived may have a receipt that
    // says its chunks are on their way; then they are awaited.
    if (decision.by === 'silence' && !this.options.orderedFinish && (await this.#expectUnheardStreams(snapshot, now))) {
      decision = { canFinish: false, cutShort: false };
    }
    await this.#settleOpenStreams(now, decision.canFinish, sawRunEvent);
    if (decision.canFinish) {
      if (decision.cutShort)
        this.options.logger.warn(
          { runId: this.runId, heard: this.#heard, by: decision.by },
          'no end of the run heard from the engine; finishing from REST',
        );
      this.#append(
        this.#tracker.finishFromSnapshot(snapshot, decision.cutShort ? unsureReasons.settle : undefined),
        new Date(now),
      );
    }
  }

  /**
   * Reads the receipts of the finished steps of which no counted stream
   * arrived (once per step attempt); true while chunks a receipt announced
   * are still awaited (settleOpenStream says how long).
   */
  async #expectUnheardStreams(snapshot: RunSnapshot, now: number): Promise<boolean> {
    for (const step of this.#tracker.unaccounted(snapshot)) {
      const key = `${step.taskId}:${step.attempt}`;
      if (this.#receiptsRead.has(key)) continue;
      this.#receiptsRead.add(key);
      const receipt = (await this.source.streamReceipts(step.taskId, step.attempt))[step.receiptIndex];
      if (receipt) this.#append(this.#tracker.expectStream(step.taskId, step.attempt, receipt, now), new Date(now));
    }
    return this.#tracker.openStreams().some((open) => open.expected !== null && !open.complete);
  }

  /**
   * Counted streams whose close frame has not come: settled with the step's
   * receipt once waiting no longer makes sense (see settleOpenStream); the
   * receipt then says how many chunks are missing.
   */
  async #settleOpenStreams(now: number, runOver: boolean, sawRunEvent: boolean): Promise<void> {
    for (const open of this.#tracker.openStreams()) {
      const settle = settleOpenStream({
        now,
        settleMs: this.options.settleMs,
        since: open.since,
        complete: open.complete,
        expected: open.expected !== null,
        endHeard: open.endHeard,
        lastEventAt: open.lastHeardAt ?? open.since,
        orderedFinish: this.options.orderedFinish,
        sawRunEvent,
        runEventMayBeLost: this.#runEventMayBeLost,
        runOver,
      });
      if (!settle) continue;
      const receipt =
        open.expected ?? (await this.source.streamReceipts(open.taskId, open.attempt))[open.receiptIndex] ?? null;
      if (!open.complete) {
        // expected of a recording begun late (the stream went by before it listened); news otherwise
        const level = this.#correlated && !this.#resumed ? 'warn' : 'info';
        this.options.logger[level](
          { runId: this.runId, taskId: open.taskId, attempt: open.attempt, receipt },
          "no close frame came for a step's stream: settled with its receipt (null: none, a doubt is said)",
        );
      }
      this.#append(this.#tracker.closeWithoutFrame(open.taskId, open.attempt, receipt), new Date(now));
    }
  }

  #append(bodies: readonly RunEventBody[], at: Date): void {
    for (const body of bodies) this.log.append(body, at);
  }
}

function isTerminal(snapshot: RunSnapshot): boolean {
  return snapshot.status === 'COMPLETED' || snapshot.status === 'FAILED' || snapshot.status === 'CANCELLED';
}
