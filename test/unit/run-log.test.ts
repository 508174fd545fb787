/** The run log and its readers: replay, then live follow, with no gap or duplicate at the seam. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import type { RunEvent } from '../../src/events/run-event.js';
import { decodeCursor } from '../../src/runs/cursor.js';
import { type FollowItem, followRun } from '../../src/runs/follow-run.js';
import { RunLog } from '../../src/runs/run-log.js';
import { AT, chunk, finished } from '../helpers/event-bodies.js';

const RUN = 'run-1';

function logWith(count: number): RunLog {
  const log = new RunLog(RUN);
  for (let i = 1; i <= count; i++) log.append(chunk(`c${i}`), AT);
  return log;
}

/** The seq of an event, or the kind of a non-event item. */
const label = (item: FollowItem): number | string => ('seq' in item ? item.seq : item.kind);

async function nextItem(iterator: AsyncIterator<FollowItem>): Promise<FollowItem> {
  const result = await iterator.next();
  if (result.done) throw new Error('the follower ended early');
  return result.value;
}

/** A bound on what a test reads, so that a follower that never ends fails the test instead of hanging it. */
const MAX_ITEMS = 1_000;

/** Reads until the follower ends. */
async function drain(iterator: AsyncIterableIterator<FollowItem>): Promise<Array<number | string>> {
  const seen: Array<number | string> = [];
  for await (const item of iterator) {
    seen.push(label(item));
    if (seen.length > MAX_ITEMS) throw new Error(`the follower did not end: ${seen.slice(0, 20).join(', ')}, ...`);
  }
  return seen;
}

describe('RunLog', () => {
  it('should number events from 1 and give them the run id and time', () => {
    const log = new RunLog(RUN);
    const first = log.append(chunk('a'), AT);
    const second = log.append(chunk('b'), AT);
    expect(first).toMatchObject({ kind: 'StreamChunk', data: 'a', runId: RUN, seq: 1, at: AT });
    expect(second.seq).toBe(2);
    expect(log.lastSeq).toBe(2);
    expect(log.size).toBe(2);
  });

  it('should give events unique cursors that decode to their run, the log epoch and their seq', () => {
    const log = logWith(20);
    const events = log.eventsAfter(0);
    expect(new Set(events.map((e) => e.cursor)).size).toBe(20);
    for (const event of events)
      expect(decodeCursor(event.cursor)).toEqual({ runId: RUN, epoch: log.epoch, seq: event.seq });
  });

  it('should give each recording of the same run its own epoch', () => {
    const a = new RunLog(RUN);
    const b = new RunLog(RUN);
    expect(a.epoch).not.toBe(b.epoch);
    expect(a.append(chunk('x'), AT).cursor).not.toBe(b.append(chunk('x'), AT).cursor);
  });

  it('should return the events after a seq, in order', () => {
    const log = logWith(5);
    expect(log.eventsAfter(0).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(log.eventsAfter(3).map((e) => e.seq)).toEqual([4, 5]);
    expect(log.eventsAfter(5)).toEqual([]);
    expect(log.eventsAfter(9)).toEqual([]);
    expect(log.eventsAfter(-4).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('should be complete once the RunStatus is appended, and refuse appends after that', () => {
    const log = logWith(2);
    expect(log.complete).toBe(false);
    log.append(finished, AT);
    expect(log.complete).toBe(true);
    expect(() => log.append(chunk('late'), AT)).toThrow(/complete/);
    expect(() => log.append(finished, AT)).toThrow();
    expect(log.lastSeq).toBe(3);
  });

  it('should call append listeners until they unsubscribe', () => {
    const log = new RunLog(RUN);
    let calls = 0;
    const unsubscribe = log.onAppend(() => calls++);
    expect(log.listenerCount).toBe(1);
    log.append(chunk('a'), AT);
    unsubscribe();
    log.append(chunk('b'), AT);
    expect(calls).toBe(1);
    expect(log.listenerCount).toBe(0);
  });

  it('should ignore an interruption once complete', () => {
    const log = logWith(1);
    log.append(finished, AT);
    log.interrupt(new GatewayError('SHUTTING_DOWN', 'bye'));
    expect(log.interruption).toBeUndefined();
  });
});

describe('followRun', () => {
  it('should replay the events after its position, then follow live appends with no gap or duplicate at the seam', async () => {
    const log = logWith(4);
    const follower = followRun(log, 2);
    const seen: Array<number | string> = [];

    seen.push(label(await nextItem(follower))); // 3, replayed
    log.append(chunk('c5'), AT); // appended while the follower is still replaying
    seen.push(label(await nextItem(follower))); // 4, replayed
    seen.push(label(await nextItem(follower))); // 5, appended during the replay
    const waiting = follower.next(); // caught up: waits for the next append
    log.append(chunk('c6'), AT);
    log.append(chunk('c7'), AT);
    const sixth = await waiting;
    if (sixth.done) throw new Error('the follower ended early');
    seen.push(label(sixth.value));
    log.append(finished, AT);
    seen.push(...(await drain(follower)));

    expect(seen).toEqual([3, 4, 5, 6, 7, 8]);
    expect(log.listenerCount).toBe(0);
  });

  it('should give every event of the log exactly once to a follower appended to at every step', async () => {
    const log = logWith(3);
    const seen: RunEvent[] = [];
    for await (const item of followRun(log, 0)) {
      if (!('seq' in item)) throw new Error(`unexpected ${item.kind}`);
      seen.push(item);
      if (seen.length > MAX_ITEMS) throw new Error('the follower did not end');
      // one append per event read, while the follower reads: ten chunks, then the RunStatus
      if (log.lastSeq < 10) log.append(chunk(`c${log.lastSeq + 1}`), AT);
      else if (!log.complete) log.append(finished, AT);
    }
    expect(seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(seen.at(-1)?.kind).toBe('RunStatus');
  });

  it('should end after the terminal event of a complete log', async () => {
    const log = logWith(2);
    log.append(finished, AT);
    expect(await drain(followRun(log, 0))).toEqual([1, 2, 3]);
    expect(await drain(followRun(log, 1))).toEqual([2, 3]);
  });

  it('should end at once when it starts after the terminal event', async () => {
    const log = logWith(2);
    log.append(finished, AT);
    expect(await drain(followRun(log, 3))).toEqual([]);
    expect(log.listenerCount).toBe(0);
  });

  it('should wait for appends when it starts after the last event', async () => {
    const log = logWith(2);
    const follower = followRun(log, 2);
    const pending = follower.next();
    log.append(finished, AT);
    const result = await pending;
    expect(result.done).toBe(false);
    expect(result.value).toMatchObject({ kind: 'RunStatus', seq: 3 });
    expect((await follower.next()).done).toBe(true);
  });

  it('should hold one listener while following and release it when the consumer returns early', async () => {
    const log = logWith(3);
    const follower = followRun(log, 0);
    expect(label(await nextItem(follower))).toBe(1);
    expect(log.listenerCount).toBe(1);
    await follower.return?.();
    expect(log.listenerCount).toBe(0);
    expect((await follower.next()).done).toBe(true);
  });

  it('should release a follower that returns while waiting for an append', async () => {
    const log = logWith(1);
    const follower = followRun(log, 0);
    await nextItem(follower);
    const pending = follower.next();
    expect(log.listenerCount).toBe(1);
    await follower.return?.();
    expect((await pending).done).toBe(true);
    expect(log.listenerCount).toBe(0);
    log.append(chunk('after'), AT); // no reader left to wake
    expect(log.listenerCount).toBe(0);
  });

  it('should release a follower that breaks out of for await', async () => {
    const log = logWith(5);
    const seen: number[] = [];
    for await (const item of followRun(log, 0)) {
      if ('seq' in item) seen.push(item.seq);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(log.listenerCount).toBe(0);
  });

  it('should end an interrupted follower with an Interrupted item after the events it had not read yet', async () => {
    const log = logWith(2);
    const follower = followRun(log, 0);
    expect(label(await nextItem(follower))).toBe(1);
    // appended while the follower is still delivering its replay, then the interruption
    log.append(chunk('c3'), AT);
    log.append(chunk('c4'), AT);
    const reason = new GatewayError('SHUTTING_DOWN', 'The gateway is shutting down.');
    log.interrupt(reason);
    const rest: FollowItem[] = [];
    for await (const item of follower) {
      rest.push(item);
      if (rest.length > MAX_ITEMS) throw new Error('the follower did not end');
    }
    expect(rest.map(label)).toEqual([2, 3, 4, 'Interrupted']);
    expect(rest.at(-1)).toEqual({ kind: 'Interrupted', error: reason });
    expect(log.listenerCount).toBe(0);
  });

  it('should end a waiting follower with an Interrupted item when the log is interrupted', async () => {
    const log = logWith(2);
    const follower = followRun(log, 2);
    const pending = follower.next();
    const reason = new GatewayError('SHUTTING_DOWN', 'bye');
    log.interrupt(reason);
    const result = await pending;
    expect(result.value).toEqual({ kind: 'Interrupted', error: reason });
    expect((await follower.next()).done).toBe(true);
    expect(log.listenerCount).toBe(0);
  });

  it('should end a follower that starts on an interrupted log with Interrupted after the stored events', async () => {
    const log = logWith(2);
    const reason = new GatewayError('SHUTTING_DOWN', 'bye');
    log.interrupt(reason);
    expect(log.interruption).toBe(reason);
    expect(await drain(followRun(log, 0))).toEqual([1, 2, 'Interrupted']);
    expect(await drain(followRun(log, 2))).toEqual(['Interrupted']);
  });

  it('should let several followers read the same log independently', async () => {
    const log = logWith(2);
    const a = followRun(log, 0);
    const b = followRun(log, 1);
    expect(label(await nextItem(a))).toBe(1);
    expect(label(await nextItem(b))).toBe(2);
    log.append(finished, AT);
    expect(await drain(a)).toEqual([2, 3]);
    expect(await drain(b)).toEqual([3]);
    expect(log.listenerCount).toBe(0);
  });
});

describe('RunLog retention', () => {
  it('should drop the oldest events past maxEvents and keep positions unchanged', () => {
    const log = new RunLog(RUN, { maxEvents: 3, maxBytes: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 5; i++) log.append(chunk(`c${i}`), AT);
    expect(log.size).toBe(3);
    expect(log.oldestSeq).toBe(3);
    expect(log.lastSeq).toBe(5);
    expect(log.eventsAfter(2).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(log.covers(2)).toBe(true);
    expect(log.covers(1)).toBe(false);
    expect(log.eventsAfter(1)).toEqual([]);
  });

  it('should drop the oldest events past maxBytes, always keeping the newest', () => {
    const log = new RunLog(RUN, { maxEvents: Number.POSITIVE_INFINITY, maxBytes: 1_000 });
    log.append(chunk('x'.repeat(300)), AT);
    log.append(chunk('y'.repeat(300)), AT);
    expect(log.size).toBe(1);
    expect(log.bytes).toBeLessThanOrEqual(1_000);
    log.append(chunk('z'.repeat(5_000)), AT);
    expect(log.size).toBe(1);
    expect(log.eventsAfter(log.oldestSeq - 1).map((e) => ('data' in e ? e.data.slice(0, 1) : ''))).toEqual(['z']);
  });

  it('should end a reader that fell behind the kept events with CURSOR_EXPIRED instead of skipping', async () => {
    const log = new RunLog(RUN, { maxEvents: 2, maxBytes: Number.POSITIVE_INFINITY });
    log.append(chunk('a'), AT);
    const reader = followRun(log, 0);
    const first = await reader.next();
    expect(first.value).toMatchObject({ seq: 1 });
    for (let i = 0; i < 4; i++) log.append(chunk(`b${i}`), AT); // seq 2..5; only 4 and 5 are kept
    const next = await reader.next();
    expect(next.value).toMatchObject({ kind: 'Interrupted' });
    expect((next.value as { error: GatewayError }).error.code).toBe('CURSOR_EXPIRED');
    expect((await reader.next()).done).toBe(true);
    expect(log.listenerCount).toBe(0);
  });
});
