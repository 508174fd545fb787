/**
 * Takeover: a tracker resumed from the bodies another replica logged must
 * continue that log exactly (nothing said twice, the chunk index carried on),
 * and say honestly, with a StreamGap of unknown size, when chunks may have
 * been streamed while no replica listened.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent, RunSnapshot } from '../../src/events/engine-event.js';
import {
  assertNever,
  type FileChunkBody,
  type RunEventBody,
  type RunStatusBody,
  type StepOutputBody,
  type StepStatus,
  type StepStatusBody,
  type StreamChunkBody,
  type StreamGapBody,
} from '../../src/events/run-event.js';
import { RunTracker } from '../../src/events/run-tracker.js';
import { chunk, event, OTHER, RUN, snapshot, TASK, task } from '../helpers/tracker-input.js';

const NAMES: Record<string, string> = { [TASK]: 'work', [OTHER]: 'other' };

// ---------------------------------------------------------------- what the previous recorder logged

const ref = (attempt = 1, stepId = TASK) => ({ stepId, stepName: NAMES[stepId] ?? stepId, attempt });

const logged = {
  status: (status: StepStatus, attempt = 1, stepId = TASK, error: string | null = null): StepStatusBody => ({
    kind: 'StepStatus',
    ...ref(attempt, stepId),
    status,
    error,
  }),
  chunk: (data: string, attempt = 1, stepId = TASK): StreamChunkBody => ({
    kind: 'StreamChunk',
    ...ref(attempt, stepId),
    data,
  }),
  gap: (missedChunks: number | null, attempt = 1, stepId = TASK): StreamGapBody => ({
    kind: 'StreamGap',
    ...ref(attempt, stepId),
    missedChunks,
    reason: 'logged before the takeover',
  }),
  output: (output: StepOutputBody['output'], attempt = 1, stepId = TASK): StepOutputBody => ({
    kind: 'StepOutput',
    ...ref(attempt, stepId),
    output,
  }),
  file: (index: number, count: number): FileChunkBody => ({
    kind: 'FileChunk',
    ...ref(),
    fileId: 'f-1',
    name: 'a.bin',
    mimeType: 'application/octet-stream',
    index,
    count,
    size: 2,
    sha256: '0'.repeat(64),
    data: 'AA==',
  }),
};

const started = (attempt = 1, stepId = TASK): StepStatusBody[] => [
  logged.status('QUEUED', attempt, stepId),
  logged.status('STARTED', attempt, stepId),
];

/** A tracker on another replica, resumed from `bodies` (it never saw the engine's first events). */
function resumed(bodies: RunEventBody[], holdMs?: number): RunTracker {
  const tracker = new RunTracker(RUN, holdMs);
  tracker.resume(bodies);
  return tracker;
}

/** What the recorder does with its first snapshot after a takeover; returns what it appends. */
function takeOver(tracker: RunTracker, first: RunSnapshot): RunEventBody[] {
  tracker.learnNames(first);
  tracker.markUnsure(first);
  return tracker.fromSnapshot(first);
}

/**
 * What the recorder does once it stops waiting and finds no receipt (a step
 * without the worker kit): settles every end held for a doubt's answer.
 */
function withoutReceipts(tracker: RunTracker, bodies: RunEventBody[]): RunEventBody[] {
  return [...bodies, ...tracker.openStreams().flatMap((o) => tracker.closeWithoutFrame(o.taskId, o.attempt, null))];
}

function feed(tracker: RunTracker, events: Array<[EngineEvent, number?]>): RunEventBody[] {
  return events.flatMap(([e, now]) => tracker.fromEngineEvent(e, now ?? 0));
}

/** One line per body: `step#attempt:STATUS`, `step#attempt:chunk <data>`, `step#attempt:gap <n>`, ... */
function story(bodies: readonly RunEventBody[]): string[] {
  return bodies.map((b) => {
    if (b.kind === 'RunStatus') return `run:${b.status}`;
    const who = `${b.stepName}#${b.attempt}`;
    switch (b.kind) {
      case 'StepStatus':
        return `${who}:${b.status}`;
      case 'StepOutput':
        return `${who}:output ${JSON.stringify(b.output)}`;
      case 'StreamChunk':
        return `${who}:chunk ${b.data}`;
      case 'FileChunk':
        return `${who}:file ${b.index}`;
      case 'StreamGap':
        return `${who}:gap ${b.missedChunks}`;
      default:
        return assertNever(b);
    }
  });
}

const completed = (attempt = 1, payload = '{"ok":true}', resourceId = TASK): EngineEvent =>
  event({ eventType: 'COMPLETED', retryCount: attempt - 1, payload, resourceId });

// ---------------------------------------------------------------- resume

describe('RunTracker.resume', () => {
  it('should know the logged steps by the names the log gave them, without a snapshot', () => {
    const tracker = resumed([...started(), logged.chunk('a')]);
    expect(tracker.hasStep(TASK)).toBe(true);
    expect(tracker.knowsTask(TASK)).toBe(true);
    expect(story(tracker.fromEngineEvent(chunk(1, 'b')))).toEqual(['work#1:chunk b']);
  });

  it('should not repeat a logged status when the listener or a snapshot says it again', () => {
    const tracker = resumed(started());
    expect(tracker.fromEngineEvent(event({ eventType: 'STARTED', retryCount: 0 }))).toEqual([]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'RUNNING' })]))).toEqual([]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'QUEUED' })]))).toEqual([]);
    expect(story(tracker.fromEngineEvent(completed()))).toEqual(['work#1:COMPLETED', 'work#1:output {"ok":true}']);
  });

  it('should not repeat a logged terminal status or output', () => {
    const tracker = resumed([...started(), logged.status('COMPLETED'), logged.output({ ok: true })]);
    expect(tracker.fromEngineEvent(completed())).toEqual([]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'COMPLETED', output: { ok: true } })]))).toEqual([]);
    expect(tracker.fromEngineEvent(event({ eventType: 'FAILED', retryCount: 0, payload: 'late' }))).toEqual([]);
  });

  it('should give the output once when the log stopped between COMPLETED and the output', () => {
    const tracker = resumed([...started(), logged.status('COMPLETED')]);
    const done = snapshot([task({ status: 'COMPLETED', output: { n: 1 } })]);
    expect(tracker.fromSnapshot(done)).toEqual([{ kind: 'StepOutput', ...ref(), output: { n: 1 } }]);
    expect(tracker.fromSnapshot(done)).toEqual([]);
    expect(tracker.fromEngineEvent(completed(1, '{"n":1}'))).toEqual([]);
  });

  it('should emit a chunk whose index is the number of chunks and missed chunks already logged', () => {
    // indexes 0, 1 as chunks, 2 and 3 as a counted gap, 4 as a chunk: the next one is 5
    const tracker = resumed([...started(), logged.chunk('a'), logged.chunk('b'), logged.gap(2), logged.chunk('e')]);
    expect(tracker.fromEngineEvent(chunk(5, 'f'))).toEqual([{ kind: 'StreamChunk', ...ref(), data: 'f' }]);
    expect(story(tracker.fromEngineEvent(chunk(6, 'g')))).toEqual(['work#1:chunk g']);
  });

  it('should count each logged FileChunk as one index', () => {
    const tracker = resumed([...started(), logged.file(0, 3), logged.file(1, 3)]);
    expect(story(tracker.fromEngineEvent(chunk(2, 'tail')))).toEqual(['work#1:chunk tail']);
  });

  it('should add nothing to the index for a logged gap of unknown size', () => {
    const tracker = resumed([...started(), logged.chunk('a'), logged.gap(null)]);
    expect(story(tracker.fromEngineEvent(chunk(1, 'b')))).toEqual(['work#1:chunk b']);
  });

  it('should drop a chunk whose index the log already holds as a duplicate', () => {
    const tracker = resumed([...started(), logged.chunk('a'), logged.chunk('b'), logged.gap(1)]);
    expect(tracker.fromEngineEvent(chunk(0, 'a'))).toEqual([]);
    expect(tracker.fromEngineEvent(chunk(1, 'b'))).toEqual([]);
    expect(tracker.fromEngineEvent(chunk(2, 'lost after all'))).toEqual([]);
    expect(story(tracker.fromEngineEvent(chunk(3, 'd')))).toEqual(['work#1:chunk d']);
    expect(tracker.flushStale(1_000_000)).toEqual([]);
  });

  it('should hold a chunk past the logged index and, after holdMs, declare the hole a StreamGap counting the missed chunks', () => {
    const tracker = resumed([...started(), logged.chunk('a'), logged.chunk('b'), logged.gap(2)], 1_000);
    // the next index is 4; 4, 5 and 6 are missing
    expect(tracker.fromEngineEvent(chunk(7, 'h'), 100)).toEqual([]);
    expect(tracker.flushStale(1_099)).toEqual([]);
    const flushed = tracker.flushStale(1_100);
    expect(flushed).toEqual([
      { kind: 'StreamGap', ...ref(), missedChunks: 3, reason: expect.stringMatching(/\S/) },
      { kind: 'StreamChunk', ...ref(), data: 'h' },
    ]);
    expect(story(tracker.fromEngineEvent(chunk(8, 'i'), 1_200))).toEqual(['work#1:chunk i']);
  });

  it('should emit a held chunk without a gap when the missing index arrives within holdMs', () => {
    const tracker = resumed([...started(), logged.chunk('a')], 1_000);
    expect(tracker.fromEngineEvent(chunk(2, 'c'), 0)).toEqual([]);
    expect(story(tracker.fromEngineEvent(chunk(1, 'b'), 500))).toEqual(['work#1:chunk b', 'work#1:chunk c']);
    expect(tracker.flushStale(10_000)).toEqual([]);
  });

  it("should continue each step's chunk index separately", () => {
    const tracker = resumed([
      ...started(),
      logged.chunk('a'),
      ...started(1, OTHER),
      logged.chunk('x', 1, OTHER),
      logged.chunk('y', 1, OTHER),
      logged.chunk('b'),
    ]);
    const bodies = feed(tracker, [[chunk(2, 'z', OTHER)], [chunk(1, 'dup', OTHER)], [chunk(2, 'c')]]);
    expect(story(bodies)).toEqual(['other#1:chunk z', 'work#1:chunk c']);
  });

  it('should restore attempt 2 from its bodies: its chunks, statuses and output continue under attempt 2', () => {
    const tracker = resumed([
      ...started(1),
      logged.chunk('a1', 1),
      logged.chunk('b1', 1),
      logged.status('FAILED', 1, TASK, 'boom'),
      ...started(2),
      logged.chunk('a2', 2),
    ]);
    expect(tracker.fromEngineEvent(chunk(0, 'a2'))).toEqual([]);
    expect(tracker.fromEngineEvent(chunk(1, 'b2'))).toEqual([{ kind: 'StreamChunk', ...ref(2), data: 'b2' }]);
    expect(tracker.fromEngineEvent(event({ eventType: 'STARTED', retryCount: 1 }))).toEqual([]);
    // REST still showing the failed attempt says nothing new
    expect(tracker.fromSnapshot(snapshot([task({ status: 'FAILED', error: 'boom', attempt: 1 })]))).toEqual([]);
    expect(story(tracker.fromEngineEvent(completed(2)))).toEqual(['work#2:COMPLETED', 'work#2:output {"ok":true}']);
  });

  it('should open attempt 2 at a chunk that restarts the index after a logged failed attempt 1, and keep a late attempt-1 chunk under attempt 1', () => {
    const tracker = resumed([
      ...started(1),
      logged.chunk('a1', 1),
      logged.chunk('b1', 1),
      logged.status('FAILED', 1, TASK, 'boom'),
    ]);
    // index 2 continues attempt 1's logged chunks: a late chunk of it
    expect(story(tracker.fromEngineEvent(chunk(2, 'late1')))).toEqual(['work#1:chunk late1']);
    expect(story(tracker.fromEngineEvent(chunk(0, 'a2')))).toEqual([
      'work#2:QUEUED',
      'work#2:STARTED',
      'work#2:chunk a2',
    ]);
  });

  it('should be finished after a logged RunStatus and emit nothing more', () => {
    const done: RunStatusBody = { kind: 'RunStatus', status: 'COMPLETED', output: { ok: true }, error: null };
    const tracker = resumed([...started(), logged.chunk('a'), logged.status('COMPLETED'), logged.output(1), done]);
    expect(tracker.finished).toBe(true);
    const final = snapshot([task({ status: 'COMPLETED', output: 1 })], { status: 'COMPLETED', output: { ok: true } });
    expect(tracker.fromEngineEvent(chunk(1, 'late'), 10)).toEqual([]);
    expect(tracker.fromEngineEvent(chunk(9, 'later'), 20)).toEqual([]);
    expect(tracker.fromEngineEvent(completed())).toEqual([]);
    expect(tracker.fromSnapshot(final)).toEqual([]);
    expect(tracker.finishFromSnapshot(final)).toEqual([]);
    expect(tracker.flushStale(1_000_000)).toEqual([]);
  });

  it('should not be finished by a log without a RunStatus, and finish once from REST', () => {
    const tracker = resumed([...started(), logged.status('COMPLETED'), logged.output(1)]);
    expect(tracker.finished).toBe(false);
    const final = snapshot([task({ status: 'COMPLETED', output: 1 })], { status: 'COMPLETED', output: { ok: true } });
    expect(tracker.fromSnapshot(final)).toEqual([]);
    expect(tracker.finishFromSnapshot(final)).toEqual([
      { kind: 'RunStatus', status: 'COMPLETED', output: { ok: true }, error: null },
    ]);
    expect(tracker.finished).toBe(true);
  });
});

// ---------------------------------------------------------------- markUnsure

describe('RunTracker.markUnsure after resume', () => {
  const unknownGap = (attempt = 1, stepId = TASK): StreamGapBody => ({
    kind: 'StreamGap',
    ...ref(attempt, stepId),
    missedChunks: null,
    reason: expect.stringMatching(/\S/) as unknown as string,
  });

  it('should put a StreamGap of unknown size right before the terminal status of a step running at takeover that completes with no chunk', () => {
    const tracker = resumed([...started(), logged.chunk('a')]);
    expect(takeOver(tracker, snapshot([task({ status: 'RUNNING' })]))).toEqual([]);
    expect(withoutReceipts(tracker, tracker.fromEngineEvent(completed()))).toEqual([
      unknownGap(),
      { kind: 'StepStatus', ...ref(), status: 'COMPLETED', error: null },
      { kind: 'StepOutput', ...ref(), output: { ok: true } },
    ]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'COMPLETED', output: { ok: true } })]))).toEqual([]);
  });

  it('should put the gap before the terminal status a snapshot brings, when the step finished while nobody listened', () => {
    const tracker = resumed([...started(), logged.chunk('a')]);
    const bodies = withoutReceipts(
      tracker,
      takeOver(tracker, snapshot([task({ status: 'COMPLETED', output: { n: 2 } })])),
    );
    expect(story(bodies)).toEqual(['work#1:gap null', 'work#1:COMPLETED', 'work#1:output {"n":2}']);
    expect(bodies[0]).toEqual(unknownGap());
  });

  it('should put the gap before FAILED too', () => {
    const tracker = resumed(started());
    takeOver(tracker, snapshot([task({ status: 'RUNNING' })]));
    const bodies = withoutReceipts(
      tracker,
      tracker.fromEngineEvent(event({ eventType: 'FAILED', retryCount: 0, payload: '{"message":"x"}' })),
    );
    expect(story(bodies)).toEqual(['work#1:gap null', 'work#1:FAILED']);
  });

  it('should give no unknown gap to a step whose first chunk after takeover continues the logged index', () => {
    const tracker = resumed([...started(), logged.chunk('a')]);
    takeOver(tracker, snapshot([task({ status: 'RUNNING' })]));
    const bodies = feed(tracker, [[chunk(1, 'b')], [completed()]]);
    expect(story(bodies)).toEqual(['work#1:chunk b', 'work#1:COMPLETED', 'work#1:output {"ok":true}']);
  });

  it('should count the missed chunks instead, at once, when the first chunk after takeover shows a hole', () => {
    const tracker = resumed([...started(), logged.chunk('a')], 1_000);
    takeOver(tracker, snapshot([task({ status: 'RUNNING' })]));
    // no wait for the missing indexes: what a silence lost does not come late
    const bodies = [...tracker.fromEngineEvent(chunk(3, 'd'), 0), ...tracker.fromEngineEvent(completed(), 0)];
    expect(story(bodies)).toEqual(['work#1:gap 2', 'work#1:chunk d', 'work#1:COMPLETED', 'work#1:output {"ok":true}']);
  });

  it('should keep the unknown gap when the only chunks after takeover carry no index', () => {
    const tracker = resumed([...started(), logged.chunk('a')]);
    takeOver(tracker, snapshot([task({ status: 'RUNNING' })]));
    const bodies = withoutReceipts(
      tracker,
      feed(tracker, [[event({ eventType: 'STREAM', payload: 'x' })], [completed()]]),
    );
    expect(story(bodies)).toEqual([
      'work#1:chunk x',
      'work#1:gap null',
      'work#1:COMPLETED',
      'work#1:output {"ok":true}',
    ]);
  });

  it('should give no gap to a step already terminal in the log', () => {
    const tracker = resumed([...started(), logged.chunk('a'), logged.status('COMPLETED'), logged.output({ ok: true })]);
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })]);
    expect(takeOver(tracker, done)).toEqual([]);
    expect(tracker.fromEngineEvent(completed())).toEqual([]);
    expect(tracker.finishFromSnapshot({ ...done, status: 'COMPLETED' })).toEqual([
      { kind: 'RunStatus', status: 'COMPLETED', output: null, error: null },
    ]);
  });

  it('should give no gap to a step the log shows FAILED while REST shows it FAILED', () => {
    const tracker = resumed([...started(), logged.status('FAILED', 1, TASK, 'x')]);
    expect(takeOver(tracker, snapshot([task({ status: 'FAILED', error: 'x' })]))).toEqual([]);
  });

  it('should give no gap to a step QUEUED at takeover, logged or not', () => {
    const tracker = resumed([logged.status('QUEUED')]);
    const first = snapshot([task({ status: 'QUEUED' }), task({ taskId: OTHER, name: 'other', status: 'QUEUED' })]);
    expect(story(takeOver(tracker, first))).toEqual(['other#1:QUEUED']);
    const bodies = feed(tracker, [
      [event({ eventType: 'STARTED', retryCount: 0 })],
      [completed()],
      [event({ eventType: 'STARTED', retryCount: 0, resourceId: OTHER })],
      [completed(1, '2', OTHER)],
    ]);
    expect(story(bodies)).toEqual([
      'work#1:STARTED',
      'work#1:COMPLETED',
      'work#1:output {"ok":true}',
      'other#1:STARTED',
      'other#1:COMPLETED',
      'other#1:output 2',
    ]);
  });

  it('should give the gap to a step the log never saw that REST shows running at takeover', () => {
    const tracker = resumed([...started(), logged.status('COMPLETED'), logged.output(1)]);
    const first = snapshot([
      task({ status: 'COMPLETED', output: 1 }),
      task({ taskId: OTHER, name: 'other', status: 'RUNNING' }),
    ]);
    expect(story(takeOver(tracker, first))).toEqual(['other#1:QUEUED', 'other#1:STARTED']);
    expect(story(withoutReceipts(tracker, tracker.fromEngineEvent(completed(1, '2', OTHER))))).toEqual([
      'other#1:gap null',
      'other#1:COMPLETED',
      'other#1:output 2',
    ]);
  });

  it('should give the gap under the attempt REST shows when a retry started while nobody listened', () => {
    const tracker = resumed([...started(1), logged.chunk('a1', 1)]);
    expect(story(takeOver(tracker, snapshot([task({ status: 'RUNNING', attempt: 2 })])))).toEqual([
      'work#2:QUEUED',
      'work#2:STARTED',
    ]);
    expect(story(withoutReceipts(tracker, tracker.fromEngineEvent(completed(2))))).toEqual([
      'work#2:gap null',
      'work#2:COMPLETED',
      'work#2:output {"ok":true}',
    ]);
  });

  it('should say the unknown gap once', () => {
    const tracker = resumed(started());
    takeOver(tracker, snapshot([task({ status: 'RUNNING' })]));
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })], { status: 'COMPLETED' });
    const bodies = [
      ...tracker.fromSnapshot(done),
      ...tracker.fromEngineEvent(completed()),
      ...tracker.fromSnapshot(done),
      ...tracker.finishFromSnapshot(done),
    ];
    expect(story(bodies)).toEqual([
      'work#1:gap null',
      'work#1:COMPLETED',
      'work#1:output {"ok":true}',
      'run:COMPLETED',
    ]);
  });
});

describe('RunTracker.finishFromSnapshot cut short', () => {
  const done = () =>
    snapshot([task({ status: 'COMPLETED', output: { ok: true } })], { status: 'COMPLETED', output: { ok: true } });

  it('should say a step whose end only REST reported may have lost its last chunks, once, before the run status', () => {
    const tracker = new RunTracker(RUN);
    tracker.learnNames(done());
    tracker.fromEngineEvent(event({ eventType: 'STARTED' }));
    tracker.fromEngineEvent(chunk(0, 'a'));
    tracker.fromSnapshot(done());
    const out = tracker.finishFromSnapshot(done(), 'not waited for');
    expect(out.map((b) => b.kind)).toEqual(['StreamGap', 'RunStatus']);
    expect(out[0]).toMatchObject({ stepId: TASK, missedChunks: null, reason: 'not waited for' });
  });

  it('should say nothing more when the listener reported the step ended, or when not cut short', () => {
    const heard = new RunTracker(RUN);
    heard.learnNames(done());
    heard.fromEngineEvent(chunk(0, 'a'));
    heard.fromEngineEvent(event({ eventType: 'COMPLETED', payload: '{"ok":true}' }));
    expect(heard.finishFromSnapshot(done(), 'not waited for').map((b) => b.kind)).toEqual(['RunStatus']);

    const patient = new RunTracker(RUN);
    patient.learnNames(done());
    patient.fromEngineEvent(chunk(0, 'a'));
    patient.fromSnapshot(done());
    expect(patient.finishFromSnapshot(done()).map((b) => b.kind)).toEqual(['RunStatus']);
  });
});
