/**
 * Counted streams (the worker kit's open and close frames) in the pure
 * mapping: what a client sees when the whole stream arrives, when its tail or
 * its close frame is lost, and when a silence raised a doubt the close answers.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/events/engine-event.js';
import type { RunEventBody } from '../../src/events/run-event.js';
import { RunTracker, unsureReasons } from '../../src/events/run-tracker.js';
import { encodeStreamClose, type StreamTotals } from '../../src/frames/stream-control.js';
import { chunk, event, snapshot, TASK, task } from '../helpers/tracker-input.js';

function totalsOf(payloads: readonly string[]): StreamTotals {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const p of payloads) {
    hash.update(p, 'utf8');
    bytes += Buffer.byteLength(p, 'utf8');
  }
  return { chunks: payloads.length, bytes, sha256: hash.digest('hex') };
}

/** What a client would see of the bodies: kind plus the field that matters. */
function story(bodies: readonly RunEventBody[]): string[] {
  return bodies.map((b) => {
    switch (b.kind) {
      case 'StepStatus':
        return `${b.status}#${b.attempt}`;
      case 'StreamChunk':
        return `chunk:${b.data}`;
      case 'StreamGap':
        return `gap:${b.missedChunks ?? '?'}`;
      case 'StepOutput':
        return 'output';
      case 'RunStatus':
        return `run:${b.status}`;
      default:
        return `file:${b.index}`;
    }
  });
}

const texts = ['Hello, ', 'wor', 'ld ✓'];
const [d0, d1, d2] = texts.map((t, i) => chunk(i, t)) as [EngineEvent, EngineEvent, EngineEvent];
const data = [d0, d1, d2];
const close = chunk(texts.length, encodeStreamClose(totalsOf(texts)));
const completed = event({ eventType: 'COMPLETED', payload: '{"ok":true}' });

function feed(tracker: RunTracker, events: Parameters<RunTracker['fromEngineEvent']>[0][], now = 0): RunEventBody[] {
  return events.flatMap((e) => tracker.fromEngineEvent(e, now));
}

describe('RunTracker with a counted stream', () => {
  it('should emit the chunks and the end when the whole stream arrives, with no gap', () => {
    const tracker = new RunTracker('run-1');
    const bodies = feed(tracker, [...data, close, completed]);
    expect(story(bodies)).toEqual([
      'QUEUED#1',
      'STARTED#1',
      'chunk:Hello, ',
      'chunk:wor',
      'chunk:ld ✓',
      'COMPLETED#1',
      'output',
    ]);
    expect(tracker.accountedFor(snapshot([task({ status: 'COMPLETED' })]))).toBe(true);
  });

  it('should count a lost tail when the close frame arrives after a hole', () => {
    const tracker = new RunTracker('run-1', 100);
    const bodies = [...feed(tracker, [d0, close, completed], 0), ...tracker.flushStale(100)];
    // the end is said as it comes; the hole before the close frame, once it is given up
    expect(story(bodies)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:Hello, ', 'COMPLETED#1', 'output', 'gap:2']);
  });

  it('should not say a chunk counted missing from the receipt when it comes after all', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [d0, completed]);
    tracker.expectStream(TASK, 1, totalsOf(texts), 0);
    expect(story(tracker.closeWithoutFrame(TASK, 1, null))).toEqual(['gap:2']);
    expect(story(feed(tracker, [d1, d2, close]))).toEqual([]);
  });

  it('should say nothing is missing when the close frame arrives after the step ended', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [...data, completed]);
    expect(story(feed(tracker, [close]))).toEqual([]);
  });

  it('should answer a doubt raised by a silence when the close frame shows nothing was missed', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [d0]);
    tracker.markUnsure(snapshot([task({ status: 'RUNNING' })]), unsureReasons.reattach, true);
    const bodies = feed(tracker, [d1, d2, close, completed]);
    expect(story(bodies)).toEqual(['chunk:wor', 'chunk:ld ✓', 'COMPLETED#1', 'output']);
  });

  it('should hold the end of a step in doubt until a receipt answers, and say the doubt when none does', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [d0]);
    tracker.markUnsure(snapshot([task({ status: 'RUNNING' })]), unsureReasons.reattach, true);
    expect(story(feed(tracker, [completed], 5))).toEqual([]);
    expect(tracker.openStreams()).toEqual([
      {
        taskId: TASK,
        attempt: 1,
        since: 5,
        receiptIndex: 0,
        expected: null,
        complete: false,
        endHeard: true,
        lastHeardAt: 5,
      },
    ]);
    const bodies = tracker.closeWithoutFrame(TASK, 1, null);
    expect(story(bodies)).toEqual(['gap:?', 'COMPLETED#1', 'output']);
    expect(bodies[0]).toMatchObject({ reason: unsureReasons.reattach });
  });

  it("should count from the step's receipt what a silence lost, instead of a doubt", () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [d0]);
    tracker.markUnsure(snapshot([task({ status: 'RUNNING' })]), unsureReasons.reattach, true);
    feed(tracker, [completed]);
    expect(story(tracker.closeWithoutFrame(TASK, 1, totalsOf(texts)))).toEqual(['gap:2', 'COMPLETED#1', 'output']);
  });

  it("should say a gap when the chunks that arrived do not match the stream's digest", () => {
    const tracker = new RunTracker('run-1');
    const forged = chunk(3, encodeStreamClose({ ...totalsOf(texts), sha256: '0'.repeat(64) }));
    const bodies = feed(tracker, [...data, forged, completed]);
    expect(story(bodies).slice(-3)).toEqual(['gap:?', 'COMPLETED#1', 'output']);
  });

  it("should account a FAILED attempt with its own close frame, then open the retry at the next chunk's index 0", () => {
    const tracker = new RunTracker('run-1');
    const failed = event({ eventType: 'FAILED', payload: '{"message":"boom"}' });
    const first = feed(tracker, [chunk(0, 'a'), chunk(1, encodeStreamClose(totalsOf(['a']))), failed]);
    expect(story(first)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:a', 'FAILED#1']);
    const retry = feed(tracker, [chunk(0, 'b'), chunk(1, encodeStreamClose(totalsOf(['b'])))]);
    expect(story(retry)).toEqual(['QUEUED#2', 'STARTED#2', 'chunk:b']);
  });

  it("should keep a retry's first chunks that come before the failed attempt's end, and say them after it", () => {
    const tracker = new RunTracker('run-1');
    const failed = event({ eventType: 'FAILED', retryCount: 0, payload: '{"message":"boom"}' });
    feed(tracker, [chunk(0, 'a'), chunk(1, encodeStreamClose(totalsOf(['a'])))]);
    expect(story(feed(tracker, [chunk(0, 'b')]))).toEqual([]);
    expect(story(feed(tracker, [failed]))).toEqual(['FAILED#1', 'QUEUED#2', 'STARTED#2', 'chunk:b']);
    expect(story(feed(tracker, [chunk(1, encodeStreamClose(totalsOf(['b']))), completed]))).toEqual([
      'COMPLETED#2',
      'output',
    ]);
  });

  it("should say nothing of a failed attempt's end once REST showed its retry", () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [chunk(0, 'a'), chunk(1, encodeStreamClose(totalsOf(['a']))), chunk(0, 'b')]);
    const retry = tracker.fromSnapshot(snapshot([task({ status: 'RUNNING', attempt: 2 })]));
    expect(story(retry)).toEqual(['QUEUED#2', 'STARTED#2', 'chunk:b']);
    expect(feed(tracker, [event({ eventType: 'FAILED', retryCount: 0, payload: '{"message":"boom"}' })])).toEqual([]);
  });

  it('should account each of several segments with its own close, and point at the receipt of the next one', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [chunk(0, 'a'), chunk(1, 'b'), chunk(2, encodeStreamClose(totalsOf(['a', 'b'])))]);
    feed(tracker, [chunk(3, 'c'), completed]);
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })]);
    expect(tracker.unaccounted(done)).toEqual([{ taskId: TASK, attempt: 1, receiptIndex: 1 }]);
    tracker.expectStream(TASK, 1, totalsOf(['c', 'd']), 0);
    expect(story(tracker.closeWithoutFrame(TASK, 1, null))).toEqual(['gap:1']);
  });

  it('should pick up a recording taken over, and count against its close what was logged before', () => {
    const first = new RunTracker('run-1');
    const logged = feed(first, [d0, d1]);
    const second = new RunTracker('run-1');
    second.resume(logged);
    expect(story(feed(second, [d2, close, completed]))).toEqual(['chunk:ld ✓', 'COMPLETED#1', 'output']);
  });

  it('should let the run finish without a doubt when every step closed its stream, even from REST alone', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [...data, close]);
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })], {
      status: 'COMPLETED',
      output: { ok: true },
    });
    expect(tracker.accountedFor(done)).toBe(true);
    const bodies = [...tracker.fromSnapshot(done), ...tracker.finishFromSnapshot(done, unsureReasons.settle)];
    expect(story(bodies)).toEqual(['COMPLETED#1', 'output', 'run:COMPLETED']);
  });

  it('should not count a plain step as accounted', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [chunk(0, 'plain'), completed]);
    expect(tracker.accountedFor(snapshot([task({ status: 'COMPLETED' })]))).toBe(false);
  });

  describe('when the step ended before anything of its stream arrived (an engine that does not order them)', () => {
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })]);

    it('should list the step as unaccounted, and await the chunks its receipt announces, holding the end then', () => {
      const tracker = new RunTracker('run-1');
      expect(story(tracker.fromSnapshot(done))).toEqual(['QUEUED#1', 'STARTED#1', 'COMPLETED#1', 'output']);
      expect(tracker.unaccounted(done)).toEqual([{ taskId: TASK, attempt: 1, receiptIndex: 0 }]);
      tracker.expectStream(TASK, 1, totalsOf(texts), 7);
      expect(tracker.openStreams()).toEqual([
        {
          taskId: TASK,
          attempt: 1,
          since: 7,
          receiptIndex: 0,
          expected: totalsOf(texts),
          complete: false,
          endHeard: false,
          lastHeardAt: null,
        },
      ]);
      expect(story(feed(tracker, data))).toEqual(['chunk:Hello, ', 'chunk:wor', 'chunk:ld ✓']);
      expect(tracker.openStreams()[0]?.complete).toBe(true);
      expect(story(tracker.closeWithoutFrame(TASK, 1, null))).toEqual([]);
      expect(tracker.openStreams()).toEqual([]);
      expect(tracker.accountedFor(done)).toBe(true);
    });

    it('should count what never came of the announced chunks', () => {
      const tracker = new RunTracker('run-1');
      tracker.fromSnapshot(done);
      tracker.expectStream(TASK, 1, totalsOf(texts), 0);
      feed(tracker, [d0]);
      expect(story(tracker.closeWithoutFrame(TASK, 1, null))).toEqual(['gap:2']);
    });

    it('should close normally when the close frame arrives after all', () => {
      const tracker = new RunTracker('run-1');
      tracker.fromSnapshot(done);
      tracker.expectStream(TASK, 1, totalsOf(texts), 0);
      expect(story(feed(tracker, [...data, close]))).toEqual(['chunk:Hello, ', 'chunk:wor', 'chunk:ld ✓']);
      expect(tracker.openStreams()).toEqual([]);
      expect(tracker.unaccounted(done)).toEqual([]);
    });

    it('should not list a step whose counted stream was closed, nor one still running', () => {
      const tracker = new RunTracker('run-1');
      feed(tracker, [...data, close, completed]);
      expect(tracker.unaccounted(done)).toEqual([]);
      expect(new RunTracker('run-1').unaccounted(snapshot([task({ status: 'RUNNING' })]))).toEqual([]);
    });
  });
});
