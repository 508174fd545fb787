/**
 * When a recorder may end a run's log: REST says a run is over, but its last
 * events may still be on their way through the engine's listener, and once
 * the log ends nothing more is added. Pure: the recorder gathers the facts,
 * this decides; unit tests cover every branch.
 *
 * The evidence, strongest first:
 * - no listener is attached: nothing more can arrive;
 * - the engine's run-level event arrived and the engine orders it after the
 *   run's step events (our sidecar's ordered-finish patch), or every step
 *   streamed through the worker kit and its close frame arrived: the log is
 *   complete;
 * - otherwise, silence: the listener delivered nothing of the run for
 *   settleMs (on an engine that orders its finish, silence counts only when
 *   the run-level event may have been lost to a re-attachment);
 * - at the latest after CAP_SETTLE_PERIODS x settleMs, whatever is missing.
 * Ending on silence without having heard the run end, or at the cap, says so
 * (`cutShort`): the steps not accounted for get a StreamGap of unknown size.
 */

/** The latest a finished run waits for its listener, in settle periods. */
export const CAP_SETTLE_PERIODS = 120;

export interface FinishFacts {
  readonly now: number;
  readonly settleMs: number;
  /** REST shows the run COMPLETED, FAILED or CANCELLED, since this time (ms); null otherwise. */
  readonly terminalSince: number | null;
  /** REST has shown the run FAILED since this time (ms): between an attempt and its retry it briefly does. */
  readonly failedSince: number | null;
  /** When the listener last delivered an event of the run (ms). */
  readonly lastEventAt: number;
  /** The engine sent a run-level event (its finish) since REST last showed the run running. */
  readonly sawRunEvent: boolean;
  /** The engine delivers a run's finish after the run's step events. */
  readonly orderedFinish: boolean;
  /** Every step's counted stream was closed and checked. */
  readonly accounted: boolean;
  readonly listenerAttached: boolean;
  /** The listener was re-attached after the run may have ended: its run-level event may be lost. */
  readonly runEventMayBeLost: boolean;
}

export interface FinishDecision {
  readonly canFinish: boolean;
  /** Finishing without having heard the run's end: say so for the steps nothing accounts for. */
  readonly cutShort: boolean;
  /** On what evidence: the run's end was heard, the listener fell silent, or the cap. */
  readonly by?: 'heard' | 'silence' | 'cap';
}

export function decideFinish(facts: FinishFacts): FinishDecision {
  const { now, settleMs } = facts;
  if (facts.terminalSince === null) return { canFinish: false, cutShort: false };
  // a FAILED that has not stood for settleMs may be the gap before a retry starts
  const failureStood = facts.failedSince === null || now - facts.failedSince >= settleMs;
  if (!failureStood) return { canFinish: false, cutShort: false };
  const heardOut = !facts.listenerAttached || (facts.sawRunEvent && (facts.orderedFinish || facts.accounted));
  if (heardOut) return { canFinish: true, cutShort: false, by: 'heard' };
  const sinceTerminal = now - facts.terminalSince;
  const quiet = now - facts.lastEventAt >= settleMs;
  const silenceCounts = !facts.orderedFinish || facts.runEventMayBeLost;
  const settled = silenceCounts && sinceTerminal >= settleMs && quiet;
  const cappedOut = sinceTerminal >= settleMs * CAP_SETTLE_PERIODS;
  if (cappedOut) return { canFinish: true, cutShort: true, by: 'cap' };
  if (!settled) return { canFinish: false, cutShort: false };
  return { canFinish: true, cutShort: !facts.sawRunEvent, by: 'silence' };
}

export interface OpenStreamFacts {
  readonly now: number;
  readonly settleMs: number;
  /** Since when the recorder waits for this stream's close frame (ms). */
  readonly since: number;
  /** Every chunk its receipt announces arrived: only the close frame is missing. */
  readonly complete: boolean;
  /** Its chunks are announced by a receipt, not yet arrived. */
  readonly expected: boolean;
  /** The listener delivered the step's end. */
  readonly endHeard: boolean;
  /** When the listener last delivered an event of the step (ms). */
  readonly lastEventAt: number;
  readonly orderedFinish: boolean;
  /** The engine's run-level event arrived. */
  readonly sawRunEvent: boolean;
  readonly runEventMayBeLost: boolean;
  /** The run's log is about to end (finishDecision.canFinish). */
  readonly runOver: boolean;
}

/**
 * Whether to stop waiting for a step's account (its close frame, the chunks
 * its receipt announced) and settle it with the step's receipt: its chunks
 * all arrived; the run is over; on an engine that orders ends after the
 * events before them, the step's end (or the run's finish) came from the
 * listener; elsewhere the step's silence for settleMs (10 times that while a
 * receipt says chunks are still on their way); at the latest at the cap.
 */
export function settleOpenStream(facts: OpenStreamFacts): boolean {
  const { now, settleMs } = facts;
  if (facts.complete || facts.runOver) return true;
  if (facts.orderedFinish && (facts.sawRunEvent || (facts.endHeard && !facts.expected))) return true;
  const waited = now - facts.since;
  if (waited >= settleMs * CAP_SETTLE_PERIODS) return true;
  if (facts.orderedFinish && !facts.runEventMayBeLost) return false;
  const patience = facts.expected ? settleMs * 10 : settleMs;
  return waited >= patience && now - facts.lastEventAt >= patience;
}
