/**
 * A reader of a run log: replays the events after a position, then follows new
 * ones as they are appended, and ends after the terminal event. It holds only
 * its position: a reader that stops reading costs no memory, and one that
 * unsubscribes is released at once (Repeater ends a pending wait on return()).
 */
import { Repeater } from 'graphql-yoga';
import type { GatewayError } from '../errors.js';
import type { RunEvent } from '../events/run-event.js';
import type { RunLog } from './run-log.js';

/** The last item of a follow that could not reach the run's end; the client resumes from its last cursor. */
export interface FollowInterrupted {
  readonly kind: 'Interrupted';
  readonly error: GatewayError;
}

export type FollowItem = RunEvent | FollowInterrupted;

/** Follows `log` from after `afterSeq` until its terminal event (or an interruption). */
export function followRun(log: RunLog, afterSeq: number): AsyncIterableIterator<FollowItem> {
  return new Repeater<FollowItem>(async (push, stop) => {
    let position = afterSeq;
    let wake: (() => void) | undefined;
    const unsubscribe = log.onAppend(() => wake?.());
    let stopped = false;
    stop.then(() => {
      stopped = true;
      wake?.();
    });
    try {
      while (!stopped) {
        const batch = log.eventsAfter(position);
        for (const event of batch) {
          await push(event);
          position = event.seq;
          if (stopped) break;
        }
        if (stopped) break;
        if (log.complete && position >= log.lastSeq) break;
        const interruption = log.interruption;
        if (interruption && log.eventsAfter(position).length === 0) {
          await push({ kind: 'Interrupted', error: interruption });
          break;
        }
        if (log.eventsAfter(position).length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      }
    } finally {
      unsubscribe();
      stop();
    }
  });
}
