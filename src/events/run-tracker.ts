/**
 * Pure mapping from what the engine says about a run (listener events and REST
 * snapshots) to the gateway's event bodies. It keeps each step's state so that
 * the two sources never contradict each other and nothing is said twice:
 *
 * - a step's statuses only move forward: QUEUED -> STARTED -> COMPLETED |
 *   FAILED | CANCELLED | TIMED_OUT. Every attempt starts with QUEUED, and
 *   STARTED always precedes COMPLETED, FAILED and TIMED_OUT (a chunk or a
 *   terminal status implies them when the engine's own event was missed);
 * - a retry starts a new attempt: its statuses start again from QUEUED with
 *   `attempt` + 1, and every chunk carries the attempt it belongs to (the
 *   engine announces no retry: see #retryStartedBy);
 * - stream chunks keep the engine's order, and a hole in the engine's per-step
 *   chunk index becomes an explicit StreamGap instead of silent loss;
 * - a counted stream (the worker kit's close frame) is checked against what
 *   the step says it sent: a lost tail becomes a counted StreamGap; when a
 *   receipt announced chunks that have not arrived, the step's end waits for
 *   them;
 * - the run's terminal status comes only from REST state, never from the
 *   listener alone: engine v0.105 also hangs up DAG listeners with a COMPLETED
 *   event when a DAG merely changes status.
 * No I/O, no clock, no SDK types.
 */

import { encodeFileFrame, type FileFrameHeader } from '../frames/file-frame.js';
import type { StreamTotals } from '../frames/stream-control.js';
import { decodeStreamPayload } from '../frames/stream-payload.js';
import type { EngineEvent, EngineTaskStatus, RunSnapshot, TaskSnapshot } from './engine-event.js';
import {
  type FileChunkBody,
  type Json,
  type RunEventBody,
  type RunStatus,
  type RunStatusBody,
  type StepStatus,
  terminalRunStatuses,
  terminalStepStatuses,
} from './run-event.js';
import { StreamAccount, type StreamVerdict } from './stream-account.js';

interface StepState {
  readonly stepId: string;
  name: string;
  attempt: number;
  status: StepStatus | null;
  outputSent: boolean;
  /** Index the next STREAM event of this attempt should carry. */
  nextChunkIndex: number;
  /** Chunks that arrived ahead of a missing index, by index. */
  readonly held: Map<number, EngineEvent>;
  /** When the oldest held chunk arrived. */
  heldSince: number | null;
  /**
   * Why chunks of this attempt may have been lost without a trace (see
   * markUnsure()), until a chunk proves the engine's index continues; null
   * when nothing is in doubt.
   */
  unsure: string | null;
  /** A chunk with an engine index arrived in this tracker's lifetime. */
  indexSeen: boolean;
  /** The terminal status came from REST, not the listener: chunks may still have been on their way. */
  endedByRest: boolean;
  /** A StreamGap of unknown size was said for this attempt already: one doubt is enough. */
  doubtSaid: boolean;
  /** This attempt's counted stream, checked against the step's close frames and receipts. */
  account: StreamAccount;
  /** A terminal status (and output) that waits for the counted stream's close. */
  heldEnd: HeldEnd | null;
  /** When the step's receipt announced chunks that had not arrived (ms), or null. */
  expectedSince: number | null;
  /** When the listener last delivered an event of this attempt (ms), or null. */
  lastHeardAt: number | null;
  /** The engine index of this attempt's last close frame, or null. */
  closedAtIndex: number | null;
  /** The engine index the current counted segment starts at (after the previous close). */
  segmentStart: number;
  /**
   * Chunks of the next attempt that arrived before this attempt's end: after
   * a close frame, an index the attempt already used can only be a retry's
   * (its indexes start again from 0), and the engine delivers a failed
   * attempt's end and its retry's first chunks in any order.
   */
  nextAttempt: EngineEvent[];
}

interface HeldEnd {
  readonly status: StepStatus;
  readonly error: string | null;
  output?: Json;
  /** When the end was first held (ms), for the recorder's patience. */
  readonly since: number;
  /** The listener delivered it (else REST): on an engine that orders a step's end after its chunks, nothing of the step follows. */
  heard: boolean;
}

/** A step attempt whose counted stream has not closed: its close frame (or more chunks) may still come. */
export interface OpenStream {
  readonly taskId: string;
  readonly attempt: number;
  /** When the recorder began to wait for it: its end was held, or its receipt was read (ms). */
  readonly since: number;
  /** Which of the attempt's receipts (in order) would account for it. */
  readonly receiptIndex: number;
  /** What its receipt says, when that was read before the close frame came. */
  readonly expected: StreamTotals | null;
  /** Every chunk the receipt announces has arrived: only the close frame is missing. */
  readonly complete: boolean;
  /** The listener delivered the step's end (not only REST). */
  readonly endHeard: boolean;
  /** When the listener last delivered an event of this step (ms), or null. */
  readonly lastHeardAt: number | null;
}

const rank: Record<StepStatus, number> = {
  QUEUED: 0,
  STARTED: 1,
  COMPLETED: 2,
  FAILED: 2,
  CANCELLED: 2,
  TIMED_OUT: 2,
};

/** Why a StreamGap of unknown size was declared (see RunTracker.markUnsure). */
export const unsureReasons = {
  takeover:
    'recording moved to another gateway replica while this step ran; chunks it streamed in between, if any, could not be recovered',
  reattach:
    'the engine hung up the listener while this step ran (it does when a DAG changes status) and chunks it streamed before the gateway re-attached, if any, were not delivered',
  lateStart:
    'the gateway began recording this run after this step started; chunks it streamed before, if any, are not kept by the engine',
  settle:
    "the engine's REST state showed this step finished, but its listener never confirmed the run's end; chunks still on their way, if any, were not waited for",
  noClose:
    "the step's counted stream never closed: neither its close frame nor its receipt reached the gateway, so what it sent after the last chunk here is unknown",
} as const;

/** Tracks one run. Feed it engine events and snapshots; it returns what to append to the log. */
export class RunTracker {
  readonly #steps = new Map<string, StepState>();
  readonly #names = new Map<string, string>();
  #finished = false;

  /**
   * @param holdMs how long chunks that arrived ahead of a missing index wait
   * for it before the hole is declared a StreamGap. As long as the engine's
   * own reorder buffer waits (SERVER_STREAM_EVENT_BUFFER_TIMEOUT, 5 s): on a
   * loaded engine a chunk overtaken by the next one arrives seconds later
   * (measured at 200 runs at once: 1 s was too short for one chunk in about
   * a hundred, which was then reported missing, and dropped when it came).
   */
  constructor(
    readonly runId: string,
    private readonly holdMs = 5_000,
  ) {}

  /** Whether the terminal RunStatus was produced. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Whether any event of this task was produced yet. */
  hasStep(taskId: string): boolean {
    return this.#steps.has(taskId);
  }

  /** Whether the step name of a task id is known (events of unknown tasks wait for a snapshot). */
  knowsTask(taskId: string): boolean {
    return this.#names.has(taskId);
  }

  /**
   * Takes over a recording another tracker started (a gateway replica that
   * stopped): replays the bodies it logged, emitting nothing, so the next
   * events continue them. The engine delivers nothing of what happened while
   * nobody listened; call markUnsure() with the first snapshot after this.
   */
  resume(bodies: Iterable<RunEventBody>): void {
    for (const body of bodies) {
      if (body.kind === 'RunStatus') {
        this.#finished = true;
        continue;
      }
      this.nameTask(body.stepId, body.stepName);
      const step = this.#step(body.stepId, body.attempt, []);
      switch (body.kind) {
        case 'StepStatus':
          step.status = body.status;
          break;
        case 'StepOutput':
          step.outputSent = true;
          break;
        // the account goes on too, so that a close frame after the takeover counts what came before
        case 'StreamChunk':
          step.nextChunkIndex++;
          step.account.received(body.data);
          break;
        case 'FileChunk':
          step.nextChunkIndex++;
          step.account.received(encodeFileFrame(fileHeaderOf(body), body.data));
          break;
        case 'StreamGap':
          step.nextChunkIndex += body.missedChunks ?? 0;
          step.account.missed(body.missedChunks ?? 0);
          break;
      }
    }
  }

  /**
   * After a time nobody listened (a takeover after resume(), a listener
   * re-attached, a recording that began mid-run): every step attempt that the
   * snapshot shows running or finished while the log has not seen it finish
   * may have streamed chunks nobody heard. Such an attempt gets a StreamGap
   * (count unknown, `reason`) before its terminal status, unless a new chunk
   * of it arrives first and the engine's chunk index shows what is missing.
   * `heardToo`: also doubt attempts whose chunks arrived before (the snapshot
   * was taken after the silence, and before any chunk that followed it).
   */
  markUnsure(snapshot: RunSnapshot, reason: string = unsureReasons.takeover, heardToo = false): void {
    for (const task of snapshot.tasks) {
      if (task.status === 'QUEUED') continue;
      // a step still holding chunks of an earlier attempt is left to fromSnapshot(),
      // which flushes them into the log: moving it to the new attempt here would drop them
      const known = this.#steps.get(task.taskId);
      if (known && (known.attempt > task.attempt || (known.attempt < task.attempt && known.held.size > 0))) continue;
      const step = this.#step(task.taskId, task.attempt, []);
      if (step.indexSeen && !heardToo) continue;
      if (step.status !== null && terminalStepStatuses.has(step.status)) continue;
      step.unsure = reason;
    }
  }

  /** Learns step names from REST state without emitting anything. */
  learnNames(snapshot: RunSnapshot): void {
    for (const [taskId, name] of Object.entries(snapshot.stepNames)) this.#names.set(taskId, name);
  }

  /** Names a task when no snapshot could (last resort: better a placeholder than a lost event). */
  nameTask(taskId: string, name: string): void {
    if (!this.#names.has(taskId)) this.#names.set(taskId, name);
  }

  /**
   * Maps one listener event received at `now` (ms). WORKFLOW_RUN events map to
   * nothing: see the module comment.
   */
  fromEngineEvent(event: EngineEvent, now = 0): RunEventBody[] {
    if (this.#finished || event.resourceType !== 'STEP_RUN') return [];
    const out: RunEventBody[] = this.flushStale(now);
    const attempt = event.retryCount === null ? this.#retryStartedBy(event) : event.retryCount + 1;
    const known = this.#steps.get(event.resourceId);
    // an earlier attempt's event, after REST showed the retry: nothing of it is said any more
    if (attempt !== null && known && attempt < known.attempt) return out;
    const step = this.#step(event.resourceId, attempt, out, now);
    step.lastHeardAt = now;
    switch (event.eventType) {
      case 'STARTED':
        this.#advance(step, 'QUEUED', null, out);
        break;
      case 'STREAM':
        this.#advance(step, 'STARTED', null, out);
        this.#chunk(step, event, now, out);
        break;
      case 'COMPLETED':
        this.#end(step, 'COMPLETED', null, now, out, parseJson(event.payload), true);
        break;
      case 'FAILED':
        this.#end(step, 'FAILED', errorMessage(event.payload), now, out, undefined, true);
        // the retry's chunks that came first can go out now, under its number
        if (step.nextAttempt.length > 0) this.#step(event.resourceId, step.attempt + 1, out, now);
        break;
      case 'CANCELLED':
        this.#advance(step, 'CANCELLED', null, out);
        break;
      case 'TIMED_OUT':
        this.#end(step, 'TIMED_OUT', null, now, out, undefined, true);
        if (step.nextAttempt.length > 0) this.#step(event.resourceId, step.attempt + 1, out, now);
        break;
      case 'UNKNOWN':
        break;
    }
    return out;
  }

  /**
   * Reconciles with REST state: emits whatever transitions and outputs the
   * listener did not deliver. `settled(task)` says whether a task's terminal
   * state is old enough to trust that the listener missed it (rather than
   * being about to deliver it with its last chunks). A terminal task followed
   * by a later-created one is settled too: in a DAG the next step exists only
   * once the previous one finished, so waiting longer would only misorder them.
   * Snapshot tasks must be ordered oldest first.
   */
  fromSnapshot(snapshot: RunSnapshot, settled: (task: TaskSnapshot) => boolean = () => true, now = 0): RunEventBody[] {
    this.learnNames(snapshot);
    if (this.#finished) return [];
    const out: RunEventBody[] = [];
    for (const [i, task] of snapshot.tasks.entries()) {
      const step = this.#step(task.taskId, task.attempt, out);
      if (step.attempt !== task.attempt) continue; // the listener is already on a later attempt
      const target = stepStatusOf(task.status);
      const followed = i < snapshot.tasks.length - 1;
      if (terminalStepStatuses.has(target) && !followed && !settled(task)) {
        // the listener may still bring its last chunks and its terminal event
        if (target !== 'CANCELLED') this.#advance(step, 'STARTED', null, out);
        continue;
      }
      const before = step.status;
      const error = target === 'FAILED' ? errorMessage(task.error ?? '') : null;
      if (terminalStepStatuses.has(target) && target !== 'CANCELLED') {
        this.#end(step, target, error, now, out, target === 'COMPLETED' ? toJson(task.output) : undefined);
      } else this.#advance(step, target, error, out);
      if (step.status !== before && terminalStepStatuses.has(target)) step.endedByRest = true;
    }
    return out;
  }

  /**
   * Step attempts whose account is awaited: their end came while a doubt was
   * pending (a close frame, or a receipt, may answer it), or their receipt
   * announced chunks that have not all arrived.
   */
  openStreams(): OpenStream[] {
    const open: OpenStream[] = [];
    for (const step of this.#steps.values()) {
      const since = step.heldEnd?.since ?? step.expectedSince;
      if (since === null || !(step.heldEnd || step.account.open)) continue;
      open.push({
        taskId: step.stepId,
        attempt: step.attempt,
        since,
        receiptIndex: step.account.segmentsClosed,
        expected: step.account.expected,
        complete: step.account.complete,
        endHeard: step.heldEnd?.heard ?? false,
        lastHeardAt: step.lastHeardAt,
      });
    }
    return open;
  }

  /**
   * Step attempts of the snapshot that ended while nothing of a counted
   * stream arrived: they streamed without the kit (or not at all), or their
   * stream is still on its way (their receipt tells).
   */
  unaccounted(
    snapshot: RunSnapshot,
  ): Array<{ readonly taskId: string; readonly attempt: number; readonly receiptIndex: number }> {
    const found = [];
    for (const task of snapshot.tasks) {
      const step = this.#steps.get(task.taskId);
      if (!terminalStepStatuses.has(stepStatusOf(task.status))) continue;
      if (step && (step.attempt !== task.attempt || !step.account.unknown)) continue;
      found.push({ taskId: task.taskId, attempt: task.attempt, receiptIndex: step?.account.segmentsClosed ?? 0 });
    }
    return found;
  }

  /**
   * A receipt read for a step of which no counted stream arrived: its chunks
   * are on their way (the engine delivered the step's end first); the step's
   * stream is open until they, or its close frame, arrive.
   */
  expectStream(taskId: string, attempt: number, receipt: StreamTotals, now: number): RunEventBody[] {
    const step = this.#step(taskId, attempt, []);
    if (this.#finished || step.attempt !== attempt || !step.account.unknown) return [];
    step.account.expect(receipt);
    step.expectedSince = now;
    return [];
  }

  /**
   * Stops waiting for a counted stream's close frame: the engine will not
   * deliver it (the run's finish came after everything before it, or the
   * recorder's patience ran out). `receipt`, the totals the step wrote to its
   * log, says how many chunks are missing; without one, a StreamGap of
   * unknown size says that something may be. Then the step's end follows.
   */
  closeWithoutFrame(taskId: string, attempt: number, receipt: StreamTotals | null): RunEventBody[] {
    const step = this.#steps.get(taskId);
    if (this.#finished || !step || step.attempt !== attempt || !(step.account.open || step.heldEnd)) return [];
    const out: RunEventBody[] = [];
    this.#flushHeld(step, out);
    const totals = receipt ?? step.account.expected;
    this.#closeStream(step, totals, out);
    if (totals) {
      // what was counted missing is said: if some of it comes after all, it is not said twice
      step.nextChunkIndex = Math.max(step.nextChunkIndex, step.segmentStart + totals.chunks + 1);
      step.segmentStart = step.nextChunkIndex;
    }
    return out;
  }

  /** Whether every step of the snapshot streamed through the kit and its stream was closed and checked. */
  accountedFor(snapshot: RunSnapshot): boolean {
    return (
      snapshot.tasks.length > 0 &&
      snapshot.tasks.every((task) => {
        const step = this.#steps.get(task.taskId);
        return step !== undefined && step.attempt === task.attempt && step.account.accounted;
      })
    );
  }

  /** Declares gaps for chunks held longer than `holdMs` at `now`, and emits them. */
  flushStale(now: number): RunEventBody[] {
    const out: RunEventBody[] = [];
    for (const step of this.#steps.values()) {
      if (step.heldSince !== null && now - step.heldSince >= this.holdMs) this.#flushHeld(step, out);
    }
    return out;
  }

  /**
   * When REST state shows the run finished and all its steps with it: any
   * held chunks (with their gaps), then the run's terminal status; the tracker
   * is finished after that. Empty while the run goes on. `cutShort`: the
   * reason the listener's last chunks were not waited for (see unsureReasons).
   */
  finishFromSnapshot(snapshot: RunSnapshot, cutShort?: string): RunEventBody[] {
    if (this.#finished) return [];
    const status = runStatusOf(snapshot.status);
    if (!terminalRunStatuses.has(status)) return [];
    if (snapshot.tasks.some((t) => !terminalStepStatuses.has(stepStatusOf(t.status)))) return [];
    const out: RunEventBody[] = [];
    for (const step of this.#steps.values()) {
      this.#flushHeld(step, out);
      // the recorder settles awaited accounts with their receipts before; this is the last resort
      if (step.account.open || step.heldEnd) this.#closeStream(step, null, out);
      // `cutShort`: the listener was not heard out; a step whose end only REST
      // reported may have chunks that never arrived, unless its counted stream says none did
      if (cutShort && step.endedByRest && !step.doubtSaid && !step.account.accounted && step.status !== 'CANCELLED') {
        this.#sayDoubt(step, cutShort, out);
      }
    }
    this.#finished = true;
    out.push(this.#terminal(snapshot, status));
    return out;
  }

  #terminal(snapshot: RunSnapshot, status: RunStatus): RunStatusBody {
    return {
      kind: 'RunStatus',
      status,
      output: status === 'COMPLETED' ? toJson(snapshot.output) : null,
      error: status === 'FAILED' ? runError(snapshot) : null,
    };
  }

  /**
   * The engine sends no event when a retry starts, and its chunks carry no
   * retry count, only an index that starts again from 0. A chunk of a step
   * whose attempt FAILED or TIMED_OUT therefore opens the next attempt, unless
   * its index continues the failed attempt's chunks (a late chunk of it).
   */
  #retryStartedBy(event: EngineEvent): number | null {
    const step = this.#steps.get(event.resourceId);
    if (event.eventType !== 'STREAM' || !step || (step.status !== 'FAILED' && step.status !== 'TIMED_OUT')) return null;
    const continues = event.eventIndex !== null && step.nextChunkIndex > 0 && event.eventIndex >= step.nextChunkIndex;
    return continues ? null : step.attempt + 1;
  }

  #step(taskId: string, attempt: number | null, out: RunEventBody[], now = 0): StepState {
    let step = this.#steps.get(taskId);
    if (!step) {
      step = {
        stepId: taskId,
        name: this.#names.get(taskId) ?? taskId,
        attempt: attempt ?? 1,
        status: null,
        outputSent: false,
        nextChunkIndex: 0,
        held: new Map(),
        heldSince: null,
        unsure: null,
        indexSeen: false,
        endedByRest: false,
        doubtSaid: false,
        account: new StreamAccount(),
        heldEnd: null,
        expectedSince: null,
        lastHeardAt: null,
        closedAtIndex: null,
        segmentStart: 0,
        nextAttempt: [],
      };
      this.#steps.set(taskId, step);
    }
    step.name = this.#names.get(taskId) ?? step.name;
    if (attempt !== null && attempt > step.attempt) {
      // a retry: what the failed attempt still held goes out under its number,
      // with its gaps, and its end if that waited for a close frame that did not come;
      // then the step starts over under the new attempt number
      this.#flushHeld(step, out);
      if (step.account.open || step.heldEnd) this.#closeStream(step, null, out);
      step.attempt = attempt;
      step.status = null;
      step.outputSent = false;
      step.nextChunkIndex = 0;
      step.unsure = null;
      step.indexSeen = false;
      step.endedByRest = false;
      step.doubtSaid = false;
      step.account = new StreamAccount();
      step.heldEnd = null;
      step.expectedSince = null;
      step.lastHeardAt = null;
      step.closedAtIndex = null;
      step.segmentStart = 0;
      const early = step.nextAttempt.splice(0);
      for (const chunk of early) {
        this.#advance(step, 'STARTED', null, out);
        this.#chunk(step, chunk, now, out);
      }
    }
    return step;
  }

  /**
   * A terminal status (and a COMPLETED step's output) from the listener or
   * REST: said now, or held while something may still change what is said
   * before it: a receipt announced chunks still on their way, or a doubt is
   * pending that the step's close frame or receipt may answer (a silence
   * is not a loss when the counts show nothing missing). CANCELLED is never
   * held: a cancelled step may never close its stream.
   */
  #end(
    step: StepState,
    target: StepStatus,
    error: string | null,
    now: number,
    out: RunEventBody[],
    output?: Json,
    heard = false,
  ): void {
    if (step.account.open || step.unsure) {
      if (step.status !== null && rank[step.status] >= rank[target]) return;
      step.heldEnd ??= { status: target, error, since: now, heard };
      step.heldEnd.heard ||= heard;
      if (output !== undefined && step.heldEnd.status === 'COMPLETED') step.heldEnd.output = output;
      // what the end implies (QUEUED, STARTED) can be said already
      this.#advance(step, 'STARTED', null, out);
      return;
    }
    this.#advance(step, target, error, out);
    if (output !== undefined && target === 'COMPLETED') this.#output(step, output, out);
  }

  /** Closes the step's counted segment with what the step says it sent, says what is missing, and releases a held end. */
  #closeStream(step: StepState, totals: StreamTotals | null, out: RunEventBody[]): void {
    const verdict = step.account.close(totals);
    step.expectedSince = null;
    this.#sayVerdict(step, verdict, out);
    // the close accounts for every chunk up to it: a doubt raised by a silence before is answered
    if (verdict.kind !== 'unknown') step.unsure = null;
    const held = step.heldEnd;
    if (!held) return;
    step.heldEnd = null;
    this.#advance(step, held.status, held.error, out);
    if (held.status === 'COMPLETED' && held.output !== undefined) this.#output(step, held.output, out);
  }

  #sayVerdict(step: StepState, verdict: StreamVerdict, out: RunEventBody[]): void {
    const ref = { stepId: step.stepId, stepName: step.name, attempt: step.attempt };
    switch (verdict.kind) {
      case 'whole':
        return;
      case 'short':
        out.push({
          kind: 'StreamGap',
          ...ref,
          missedChunks: verdict.missed,
          reason: `the step sent ${verdict.sent} chunks; the engine did not deliver the last ${verdict.missed}`,
        });
        return;
      case 'altered':
        out.push({
          kind: 'StreamGap',
          ...ref,
          missedChunks: null,
          reason: "the chunks that arrived do not match the step's stream digest: some were altered or replaced",
        });
        return;
      case 'unknown':
        if (!step.doubtSaid) this.#sayDoubt(step, step.unsure ?? unsureReasons.noClose, out);
        step.unsure = null;
        return;
    }
  }

  #advance(step: StepState, target: StepStatus, error: string | null, out: RunEventBody[]): void {
    if (step.status !== null && rank[step.status] >= rank[target]) return;
    // every attempt says QUEUED first, even when the engine's event for it was missed
    if (step.status === null && target !== 'QUEUED') this.#emitStatus(step, 'QUEUED', null, out);
    if (rank[target] === 2 && target !== 'CANCELLED' && step.status === 'QUEUED') {
      this.#emitStatus(step, 'STARTED', null, out);
    }
    if (rank[target] === 2 && step.unsure) {
      this.#sayDoubt(step, step.unsure, out);
      step.unsure = null;
    }
    this.#emitStatus(step, target, error, out);
  }

  /** A StreamGap of unknown size: chunks of this attempt may have been lost, and nothing can count them. */
  #sayDoubt(step: StepState, reason: string, out: RunEventBody[]): void {
    step.doubtSaid = true;
    out.push({
      kind: 'StreamGap',
      stepId: step.stepId,
      stepName: step.name,
      attempt: step.attempt,
      missedChunks: null,
      reason,
    });
  }

  #emitStatus(step: StepState, status: StepStatus, error: string | null, out: RunEventBody[]): void {
    step.status = status;
    out.push({ kind: 'StepStatus', stepId: step.stepId, stepName: step.name, attempt: step.attempt, status, error });
  }

  #output(step: StepState, output: Json, out: RunEventBody[]): void {
    if (step.outputSent) return;
    step.outputSent = true;
    out.push({ kind: 'StepOutput', stepId: step.stepId, stepName: step.name, attempt: step.attempt, output });
  }

  /** Emits chunks in the engine's per-step index order, holding the ones that come early. */
  #chunk(step: StepState, event: EngineEvent, now: number, out: RunEventBody[]): void {
    const index = event.eventIndex;
    // the first chunk after a silence: a hole before it is what the silence lost, not a chunk
    // overtaken on its way, so it is said at once
    const afterSilence = step.unsure !== null && step.held.size === 0;
    // a new index (not a duplicate) tells what was missed: a hole becomes a counted StreamGap
    if (index !== null && index >= step.nextChunkIndex) {
      step.unsure = null;
      step.indexSeen = true;
    }
    if (index === null) {
      this.#emitChunk(step, event, out);
      return;
    }
    if (index < step.nextChunkIndex) {
      if (step.closedAtIndex !== null && index <= step.closedAtIndex) step.nextAttempt.push(event);
      return; // else already delivered (a duplicate)
    }
    if (index > step.nextChunkIndex) {
      step.held.set(index, event);
      step.heldSince ??= now;
      if (afterSilence) this.#flushHeld(step, out);
      return;
    }
    this.#emitChunk(step, event, out);
    step.nextChunkIndex = index + 1;
    for (let next = step.held.get(step.nextChunkIndex); next; next = step.held.get(step.nextChunkIndex)) {
      step.held.delete(step.nextChunkIndex);
      this.#emitChunk(step, next, out);
      step.nextChunkIndex++;
    }
    // the wait restarts whenever the front of the queue moves
    step.heldSince = step.held.size === 0 ? null : now;
  }

  /** Gives up waiting for missing indexes: a StreamGap for each hole, then the held chunks. */
  #flushHeld(step: StepState, out: RunEventBody[]): void {
    for (const index of [...step.held.keys()].sort((a, b) => a - b)) {
      if (index > step.nextChunkIndex) {
        out.push({
          kind: 'StreamGap',
          stepId: step.stepId,
          stepName: step.name,
          attempt: step.attempt,
          missedChunks: index - step.nextChunkIndex,
          reason: 'the engine did not deliver these chunks (published while no listener was attached)',
        });
        step.account.missed(index - step.nextChunkIndex);
      }
      this.#emitChunk(step, step.held.get(index) as EngineEvent, out);
      step.nextChunkIndex = index + 1;
    }
    step.held.clear();
    step.heldSince = null;
  }

  #emitChunk(step: StepState, event: EngineEvent, out: RunEventBody[]): void {
    const ref = { stepId: step.stepId, stepName: step.name, attempt: step.attempt };
    const decoded = decodeStreamPayload(event.payload);
    switch (decoded.kind) {
      case 'text':
        step.account.received(event.payload);
        out.push({ kind: 'StreamChunk', ...ref, data: decoded.text });
        break;
      case 'file':
        step.account.received(event.payload);
        out.push({ kind: 'FileChunk', ...ref, ...decoded.header, data: decoded.data });
        break;
      case 'close':
        step.closedAtIndex = event.eventIndex;
        if (event.eventIndex !== null) step.segmentStart = event.eventIndex + 1;
        this.#closeStream(step, decoded, out);
        break;
      case 'malformed':
        step.account.received(event.payload);
        out.push({
          kind: 'StreamGap',
          ...ref,
          missedChunks: 1,
          reason: `dropped a malformed frame: ${decoded.reason}`,
        });
        break;
    }
  }
}

export function stepStatusOf(status: EngineTaskStatus): StepStatus {
  switch (status) {
    case 'QUEUED':
      return 'QUEUED';
    case 'RUNNING':
      return 'STARTED';
    case 'COMPLETED':
      return 'COMPLETED';
    case 'FAILED':
      return 'FAILED';
    case 'CANCELLED':
      return 'CANCELLED';
  }
}

export function runStatusOf(status: EngineTaskStatus): RunStatus {
  return status === 'RUNNING' ? 'RUNNING' : status === 'QUEUED' ? 'QUEUED' : status;
}

/** The worker's error message: TS workers send JSON `{message, stack}`; the stack never leaves the gateway. */
export function errorMessage(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        typeof (parsed as { message?: unknown }).message === 'string'
      ) {
        return (parsed as { message: string }).message;
      }
    } catch {
      // not JSON after all: fall through
    }
  }
  // other SDKs send plain text, sometimes followed by a traceback: keep the first line
  return trimmed.split('\n')[0] ?? '';
}

function runError(snapshot: RunSnapshot): string {
  if (snapshot.error) return errorMessage(snapshot.error);
  const failed = snapshot.tasks.find((t) => t.status === 'FAILED' && t.error);
  return failed?.error ? errorMessage(failed.error) : 'the run failed';
}

function parseJson(payload: string): Json {
  if (payload === '') return null;
  try {
    return JSON.parse(payload) as Json;
  } catch {
    return payload;
  }
}

function toJson(value: unknown): Json {
  return value === undefined ? null : (value as Json);
}

function fileHeaderOf(body: FileChunkBody): FileFrameHeader {
  const { fileId, name, mimeType, index, count, size, sha256 } = body;
  return { fileId, name, mimeType, index, count, size, sha256 };
}
