/**
 * A reader of a run log: replays the events after a position, then follows new
 * ones as they are appended, and ends after the terminal event. It holds only
 * its position and the one event it is handing over: a reader that stops
 * reading costs no memory, and one that unsubscribes is released at once
 * (Repeater ends a pending wait on return()). Transports pull at their
 * client's pace (graphql-ws awaits each socket send, yoga's SSE response is a
 * pulled stream), so a client that stops reading stops its reader; if the log
 * then drops events it had not read, the reader ends with CURSOR_EXPIRED and
 * the client resumes from its last cursor.
 */
import { Repeater } from 'graphql-yoga';
import { GatewayError } from '../errors.js';
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
        if (!log.covers(position)) {
          // the log dropped events this reader had not read yet: say so, never skip
          await push({ kind: 'Interrupted', error: expired() });
          break;
        }
        const event = log.eventAt(position + 1);
        if (event) {
          await push(event);
          position = event.seq;
          continue;
        }
        if (log.complete) break;
        if (log.interruption) {
          await push({ kind: 'Interrupted', error: log.interruption });
          break;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      stop();
    }
  });
}

/**
 * Counts a subscriber from its first pull until its transport has taken the
 * final `done` (or returned early): a subscription never pulled (its client
 * left during the run lookup) is never counted, and one that is counted is
 * released exactly once, after its transport sent everything.
 */
export function counted<T>(
  iterator: AsyncIterableIterator<T>,
  onStart: () => void,
  onEnd: () => void,
): AsyncIterableIterator<T> {
  let state: 'idle' | 'open' | 'closed' = 'idle';
  const close = () => {
    if (state === 'open') onEnd();
    state = 'closed';
  };
  return {
    async next() {
      if (state === 'idle') {
        state = 'open';
        onStart();
      }
      try {
        const result = await iterator.next();
        if (result.done) close();
        return result;
      } catch (error) {
        close();
        throw error;
      }
    },
    async return(value?: unknown) {
      close();
      return iterator.return ? iterator.return(value) : { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      close();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function expired(): GatewayError {
  return new GatewayError(
    'CURSOR_EXPIRED',
    'This subscription fell behind the events the gateway keeps for the run; resume from your last cursor to learn whether it is still covered.',
  );
}
