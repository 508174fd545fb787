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
import { encodeStreamClose, encodeStreamOpen, type StreamTotals } from '../../src/frames/stream-control.js';
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
const open = chunk(0, encodeStreamOpen());
const [d0, d1, d2] = texts.map((t, i) => chunk(i + 1, t)) as [EngineEvent, EngineEvent, EngineEvent];
const data = [d0, d1, d2];
const close = chunk(texts.length + 1, encodeStreamClose(totalsOf(texts)));
const completed = event({ eventType: 'COMPLETED', payload: '{"ok":true}' });

function feed(tracker: RunTracker, events: Parameters<RunTracker['fromEngineEvent']>[0][], now = 0): RunEventBody[] {
  return events.flatMap((e) => tracker.fromEngineEvent(e, now));
}

describe('RunTracker with a counted stream', () => {
  it('should emit the chunks and the end when the whole stream arrives, with no gap', () => {
    const tracker = new RunTracker('run-1');
    const bodies = feed(tracker, [open, ...data, close, completed]);
    expect(story(bodies)).toEqual([
      'QUEUED#1',
      'STARTED#1',
      'chunk:Hello, ',
      'chunk:wor',
      'chunk:ld ✓',
      'COMPLETED#1',
      'output',
    ]);
  });

  it("should hold a step's end that arrives before its close frame, and say it right after the last chunk", () => {
    const tracker = new RunTracker('run-1');
    const before = feed(tracker, [open, d0, completed]);
    expect(story(before)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:Hello, ']);
    expect(tracker.openStreams()).toEqual([
      { taskId: TASK, attempt: 1, since: 0, receiptIndex: 0, expected: null, complete: false },
    ]);
    const after = feed(tracker, [d1, d2, close]);
    expect(story(after)).toEqual(['chunk:wor', 'chunk:ld ✓', 'COMPLETED#1', 'output']);
    expect(tracker.openStreams()).toEqual([]);
  });

  it('should hold an end that REST reports first, too', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, d0]);
    const rest = tracker.fromSnapshot(snapshot([task({ status: 'COMPLETED', output: { ok: true } })]), () => true, 5);
    expect(story(rest)).toEqual([]);
    expect(tracker.openStreams()).toEqual([
      { taskId: TASK, attempt: 1, since: 5, receiptIndex: 0, expected: null, complete: false },
    ]);
    expect(story(feed(tracker, [d1, d2, close]))).toEqual(['chunk:wor', 'chunk:ld ✓', 'COMPLETED#1', 'output']);
  });

  it('should count a lost tail when the close frame arrives after a hole', () => {
    const tracker = new RunTracker('run-1', 100);
    const bodies = [...feed(tracker, [open, d0, close, completed], 0), ...tracker.flushStale(100)];
    expect(story(bodies)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:Hello, ', 'gap:2', 'COMPLETED#1', 'output']);
  });

  it("should count a lost tail and close frame from the step's receipt", () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, d0, completed]);
    const bodies = tracker.closeWithoutFrame(TASK, 1, totalsOf(texts));
    expect(story(bodies)).toEqual(['gap:2', 'COMPLETED#1', 'output']);
    expect(bodies[0]).toMatchObject({ kind: 'StreamGap', missedChunks: 2, stepName: TASK, attempt: 1 });
  });

  it('should say nothing is missing when only the close frame was lost and the receipt agrees', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, ...data, completed]);
    expect(story(tracker.closeWithoutFrame(TASK, 1, totalsOf(texts)))).toEqual(['COMPLETED#1', 'output']);
  });

  it('should say a gap of unknown size when neither the close frame nor a receipt came', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, d0, completed]);
    const bodies = tracker.closeWithoutFrame(TASK, 1, null);
    expect(story(bodies)).toEqual(['gap:?', 'COMPLETED#1', 'output']);
    expect(bodies[0]).toMatchObject({ reason: unsureReasons.noClose });
  });

  it('should answer a doubt raised by a silence when the close frame shows nothing was missed', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, d0]);
    tracker.markUnsure(snapshot([task({ status: 'RUNNING' })]), unsureReasons.reattach, true);
    const bodies = feed(tracker, [d1, d2, close, completed]);
    expect(story(bodies)).toEqual(['chunk:wor', 'chunk:ld ✓', 'COMPLETED#1', 'output']);
  });

  it('should say a doubt when the close frame never came after a silence, and only once', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, d0, completed]);
    tracker.markUnsure(snapshot([task({ status: 'COMPLETED' })]), unsureReasons.reattach, true);
    const bodies = tracker.closeWithoutFrame(TASK, 1, null);
    expect(story(bodies)).toEqual(['gap:?', 'COMPLETED#1', 'output']);
  });

  it("should say a gap when the chunks that arrived do not match the stream's digest", () => {
    const tracker = new RunTracker('run-1');
    const forged = chunk(4, encodeStreamClose({ ...totalsOf(texts), sha256: '0'.repeat(64) }));
    const bodies = feed(tracker, [open, ...data, forged, completed]);
    expect(story(bodies).slice(-3)).toEqual(['gap:?', 'COMPLETED#1', 'output']);
  });

  it('should hold a FAILED attempt until its close frame, then open the retry at the next open frame', () => {
    const tracker = new RunTracker('run-1');
    const failed = event({ eventType: 'FAILED', payload: '{"message":"boom"}' });
    const first = feed(tracker, [open, chunk(1, 'a'), failed, chunk(2, encodeStreamClose(totalsOf(['a'])))]);
    expect(story(first)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:a', 'FAILED#1']);
    const retry = feed(tracker, [chunk(0, encodeStreamOpen()), chunk(1, 'b')]);
    expect(story(retry)).toEqual(['QUEUED#2', 'STARTED#2', 'chunk:b']);
  });

  it('should never hold CANCELLED: a cancelled step may never close its stream', () => {
    const tracker = new RunTracker('run-1');
    const bodies = feed(tracker, [open, d0, event({ eventType: 'CANCELLED' })]);
    expect(story(bodies)).toEqual(['QUEUED#1', 'STARTED#1', 'chunk:Hello, ', 'CANCELLED#1']);
  });

  it('should account each of several segments with its own close, and point at the receipt of the open one', () => {
    const tracker = new RunTracker('run-1');
    const segment = (from: number, payloads: string[]) => [
      chunk(from, encodeStreamOpen()),
      ...payloads.map((p, i) => chunk(from + 1 + i, p)),
    ];
    feed(tracker, [...segment(0, ['a', 'b']), chunk(3, encodeStreamClose(totalsOf(['a', 'b'])))]);
    feed(tracker, [...segment(4, ['c']), completed]);
    expect(tracker.openStreams()).toEqual([
      { taskId: TASK, attempt: 1, since: 0, receiptIndex: 1, expected: null, complete: false },
    ]);
    expect(story(tracker.closeWithoutFrame(TASK, 1, totalsOf(['c', 'd'])))).toEqual(['gap:1', 'COMPLETED#1', 'output']);
  });

  it('should let the run finish without a doubt when every step closed its stream, even from REST alone', () => {
    const tracker = new RunTracker('run-1');
    feed(tracker, [open, ...data, close]);
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
});
