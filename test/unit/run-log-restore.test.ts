/**
 * A RunLog mirrored from a shared log: events arrive with the position and
 * cursor the shared log gave them, sometimes twice, sometimes after a hole,
 * and the mirror may start past a trimmed prefix.
 */
import { describe, expect, it } from 'vitest';
import type { RunEvent, RunEventBody } from '../../src/events/run-event.js';
import { decodeCursor, encodeCursor } from '../../src/runs/cursor.js';
import { type FollowItem, followRun } from '../../src/runs/follow-run.js';
import { RunLog } from '../../src/runs/run-log.js';
import { AT, chunk, finished } from '../helpers/event-bodies.js';

const RUN = 'run-1';
const SHARED_EPOCH = 'sharedEpoch1';

/** The event at `seq` as the shared log stored it (its epoch, its cursor). */
function stored(seq: number, body: RunEventBody = chunk(`c${seq}`)): RunEvent {
  return { ...body, runId: RUN, seq, cursor: encodeCursor(RUN, SHARED_EPOCH, seq), at: AT };
}

function mirrorWith(count: number): RunLog {
  const log = new RunLog(RUN, undefined, SHARED_EPOCH);
  for (let seq = 1; seq <= count; seq++) expect(log.restore(stored(seq))).toBe(true);
  return log;
}

const seqs = (log: RunLog): number[] => log.eventsAfter(log.oldestSeq - 1).map((e) => e.seq);

describe('RunLog.restore', () => {
  it('should append events with the seq and cursor they carry', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    const first = stored(1);
    const second = stored(2);
    expect(log.restore(first)).toBe(true);
    expect(log.restore(second)).toBe(true);
    expect(log.lastSeq).toBe(2);
    expect(log.size).toBe(2);
    expect(log.eventAt(1)).toEqual(first);
    expect(log.eventAt(2)).toEqual(second);
    expect(log.eventsAfter(0).map((e) => e.cursor)).toEqual([first.cursor, second.cursor]);
  });

  it("should keep the cursor an event carries even when it names another epoch than the log's", () => {
    const log = new RunLog(RUN);
    const foreign = stored(1);
    log.restore(foreign);
    expect(log.eventAt(1)?.cursor).toBe(foreign.cursor);
    expect(decodeCursor(log.eventAt(1)?.cursor ?? '')?.epoch).toBe(SHARED_EPOCH);
  });

  it('should ignore an event at or before lastSeq, keeping the event it already holds', () => {
    const log = mirrorWith(3);
    let wakes = 0;
    log.onAppend(() => wakes++);
    expect(log.restore(stored(3, chunk('other data')))).toBe(true);
    expect(log.restore(stored(1, chunk('other data')))).toBe(true);
    expect(log.lastSeq).toBe(3);
    expect(log.size).toBe(3);
    expect(log.eventAt(3)).toEqual(stored(3));
    expect(log.eventAt(1)).toEqual(stored(1));
    expect(wakes).toBe(0);
  });

  it('should refuse an event that would leave a hole, and append nothing', () => {
    const log = mirrorWith(2);
    const bytes = log.bytes;
    let wakes = 0;
    log.onAppend(() => wakes++);
    expect(log.restore(stored(4))).toBe(false);
    expect(log.restore(stored(10))).toBe(false);
    expect(log.lastSeq).toBe(2);
    expect(log.size).toBe(2);
    expect(log.bytes).toBe(bytes);
    expect(log.eventAt(4)).toBeUndefined();
    expect(wakes).toBe(0);
    // once the missing event came, the refused one fits
    expect(log.restore(stored(3))).toBe(true);
    expect(log.restore(stored(4))).toBe(true);
    expect(seqs(log)).toEqual([1, 2, 3, 4]);
  });

  it('should refuse a hole on an empty log', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    expect(log.restore(stored(2))).toBe(false);
    expect(log.lastSeq).toBe(0);
    expect(log.size).toBe(0);
  });

  it('should interleave with append: append continues after the restored seq', () => {
    const log = mirrorWith(2);
    expect(log.append(chunk('mine'), AT).seq).toBe(3);
    expect(log.restore(stored(3))).toBe(true); // already there: ignored
    expect(log.restore(stored(4))).toBe(true);
    expect(seqs(log)).toEqual([1, 2, 3, 4]);
    expect(log.eventAt(3)).toMatchObject({ data: 'mine' });
  });
});

describe('RunLog.startAt', () => {
  it('should let an empty log start at n, then restore the event at n', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    log.startAt(5);
    expect(log.lastSeq).toBe(4);
    expect(log.oldestSeq).toBe(5);
    expect(log.size).toBe(0);
    expect(log.restore(stored(5))).toBe(true);
    expect(log.restore(stored(6))).toBe(true);
    expect(log.lastSeq).toBe(6);
    expect(seqs(log)).toEqual([5, 6]);
    expect(log.eventAt(5)).toEqual(stored(5));
  });

  it('should say that positions below n-1 have expired and that n-1 and later are covered', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    log.startAt(5);
    log.restore(stored(5));
    log.restore(stored(6));
    expect(log.covers(0)).toBe(false);
    expect(log.covers(3)).toBe(false);
    expect(log.covers(4)).toBe(true);
    expect(log.covers(5)).toBe(true);
    expect(log.covers(6)).toBe(true);
    expect(log.eventsAfter(3)).toEqual([]);
    expect(log.eventsAfter(4).map((e) => e.seq)).toEqual([5, 6]);
    expect(log.eventsAfter(5).map((e) => e.seq)).toEqual([6]);
  });

  it('should ignore events before n and refuse a hole after it', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    log.startAt(5);
    expect(log.restore(stored(3))).toBe(true);
    expect(log.size).toBe(0);
    expect(log.restore(stored(6))).toBe(false);
    expect(log.size).toBe(0);
  });

  it('should treat startAt(1) or below as the start of the run', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    log.startAt(0);
    expect(log.covers(0)).toBe(true);
    expect(log.restore(stored(1))).toBe(true);
    expect(seqs(log)).toEqual([1]);
  });

  it('should throw on a log that already started', () => {
    expect(() => mirrorWith(1).startAt(5)).toThrow(/started/);
    const moved = new RunLog(RUN, undefined, SHARED_EPOCH);
    moved.startAt(3);
    expect(() => moved.startAt(7)).toThrow(/started/);
  });
});

describe('RunLog.restore and completion', () => {
  it('should complete the log on a RunStatus event and refuse every later event', () => {
    const log = mirrorWith(2);
    expect(log.complete).toBe(false);
    expect(log.restore(stored(3, finished))).toBe(true);
    expect(log.complete).toBe(true);
    expect(log.restore(stored(4))).toBe(false);
    expect(log.restore(stored(5))).toBe(false);
    expect(log.lastSeq).toBe(3);
    expect(log.eventAt(3)).toMatchObject({ kind: 'RunStatus', status: 'COMPLETED' });
    expect(() => log.append(chunk('late'), AT)).toThrow(/complete/);
  });

  it('should still accept (and ignore) an event it already holds once complete', () => {
    const log = mirrorWith(1);
    log.restore(stored(2, finished));
    expect(log.restore(stored(2, finished))).toBe(true);
    expect(log.lastSeq).toBe(2);
  });
});

describe('RunLog.restore readers', () => {
  it('should call append listeners once per restored event', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    const seen: number[] = [];
    log.onAppend(() => seen.push(log.lastSeq));
    log.restore(stored(1));
    log.restore(stored(1));
    log.restore(stored(3));
    log.restore(stored(2));
    log.restore(stored(3, finished));
    expect(seen).toEqual([1, 2, 3]);
  });

  it('should wake a follower waiting for the next event and end it after a restored RunStatus', async () => {
    const log = mirrorWith(1);
    const follower = followRun(log, 1);
    const pending = follower.next();
    log.restore(stored(2));
    const woken = await pending;
    expect(woken.done).toBe(false);
    expect(woken.value).toEqual(stored(2));
    log.restore(stored(3, finished));
    const rest: FollowItem[] = [];
    for await (const item of follower) rest.push(item);
    expect(rest).toEqual([stored(3, finished)]);
    expect(log.listenerCount).toBe(0);
  });

  it('should give a follower that starts at a startAt log the kept events with their cursors', async () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    log.startAt(10);
    for (const seq of [10, 11]) log.restore(stored(seq));
    log.restore(stored(12, finished));
    const items: FollowItem[] = [];
    for await (const item of followRun(log, 9)) items.push(item);
    expect(items).toEqual([stored(10), stored(11), stored(12, finished)]);
  });
});

describe('RunLog epoch', () => {
  it('should keep the epoch given to the constructor and put it in the cursors it makes', () => {
    const log = new RunLog(RUN, undefined, SHARED_EPOCH);
    expect(log.epoch).toBe(SHARED_EPOCH);
    const appended = log.append(chunk('a'), AT);
    expect(decodeCursor(appended.cursor)).toEqual({ runId: RUN, epoch: SHARED_EPOCH, seq: 1 });
    expect(appended.cursor).toBe(stored(1).cursor);
  });

  it('should give two logs built with the same epoch the same cursors for the same positions', () => {
    const a = new RunLog(RUN, { maxEvents: 10, maxBytes: 1_000_000 }, SHARED_EPOCH);
    const b = new RunLog(RUN, undefined, SHARED_EPOCH);
    expect(a.append(chunk('x'), AT).cursor).toBe(b.append(chunk('y'), AT).cursor);
  });
});
