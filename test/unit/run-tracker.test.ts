/**
 * The pure mapping from engine listener events and REST snapshots to event
 * bodies: on real engine recordings (test/fixtures) and on hand-built events
 * for the cases a recording rarely shows (reordering, holes, retries).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type RawRunDetails,
  type RawWorkflowEvent,
  toEngineEvent,
  toRunSnapshot,
} from '../../src/engine/hatchet-adapter.js';
import type { EngineEvent, TaskSnapshot } from '../../src/events/engine-event.js';
import type {
  FileChunkBody,
  RunEventBody,
  RunStatusBody,
  StepOutputBody,
  StepStatusBody,
  StreamChunkBody,
  StreamGapBody,
} from '../../src/events/run-event.js';
import { errorMessage, RunTracker } from '../../src/events/run-tracker.js';
import { encodeFileFrame, FILE_FRAME_PREFIX } from '../../src/frames/file-frame.js';
import { chunk, event, OTHER, RUN, snapshot, TASK, task } from '../helpers/tracker-input.js';

// ---------------------------------------------------------------- fixtures

interface Recording {
  readonly workflow: string;
  readonly input: Record<string, unknown>;
  readonly runId: string;
  readonly events: EngineEvent[];
  readonly details: RawRunDetails;
}

function loadFixture(name: string): Recording {
  const text = readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8');
  return JSON.parse(text) as Recording;
}

/** Replays a recording the way the recorder does: names first, listener events, then REST. */
function replay(recording: Recording): { bodies: RunEventBody[]; fromSnapshot: RunEventBody[]; tracker: RunTracker } {
  const snapshot = toRunSnapshot(recording.runId, recording.details);
  const tracker = new RunTracker(recording.runId);
  tracker.learnNames(snapshot);
  const bodies: RunEventBody[] = [];
  let now = 0;
  for (const event of recording.events) {
    now += 10;
    bodies.push(...tracker.fromEngineEvent(event, now));
  }
  const fromSnapshot = tracker.fromSnapshot(snapshot);
  bodies.push(...fromSnapshot);
  bodies.push(...tracker.finishFromSnapshot(snapshot));
  return { bodies, fromSnapshot, tracker };
}

const isKind =
  <K extends RunEventBody['kind']>(kind: K) =>
  (body: RunEventBody): body is Extract<RunEventBody, { kind: K }> =>
    body.kind === kind;

const statuses = (bodies: readonly RunEventBody[]): StepStatusBody[] => bodies.filter(isKind('StepStatus'));
const outputs = (bodies: readonly RunEventBody[]): StepOutputBody[] => bodies.filter(isKind('StepOutput'));
const textChunks = (bodies: readonly RunEventBody[]): StreamChunkBody[] => bodies.filter(isKind('StreamChunk'));
const fileChunks = (bodies: readonly RunEventBody[]): FileChunkBody[] => bodies.filter(isKind('FileChunk'));
const gaps = (bodies: readonly RunEventBody[]): StreamGapBody[] => bodies.filter(isKind('StreamGap'));
const runStatuses = (bodies: readonly RunEventBody[]): RunStatusBody[] => bodies.filter(isKind('RunStatus'));

function stepIdsInOrder(bodies: readonly RunEventBody[]): string[] {
  const ids: string[] = [];
  for (const body of bodies) {
    if (body.kind !== 'RunStatus' && !ids.includes(body.stepId)) ids.push(body.stepId);
  }
  return ids;
}

const completedFixtures = ['stream-text', 'multi-step', 'stream-file'] as const;
const allFixtures = [...completedFixtures, 'always-fails'] as const;

describe('RunTracker on recorded engine runs', () => {
  describe.each(allFixtures)('%s', (name) => {
    const recording = loadFixture(name);

    it('should end with exactly one RunStatus, as the last body', () => {
      const { bodies, tracker } = replay(recording);
      expect(runStatuses(bodies)).toHaveLength(1);
      expect(bodies.at(-1)?.kind).toBe('RunStatus');
      expect(tracker.finished).toBe(true);
    });

    it('should add nothing from the final snapshot when the listener delivered everything', () => {
      const { fromSnapshot } = replay(recording);
      expect(fromSnapshot).toEqual([]);
    });

    it('should name every step by its step name, never by its task id', () => {
      const { bodies } = replay(recording);
      const stepBodies = bodies.filter((b) => b.kind !== 'RunStatus');
      expect(stepBodies.length).toBeGreaterThan(0);
      for (const body of stepBodies) {
        expect(body.stepName).not.toBe(body.stepId);
        expect(body.stepName).not.toMatch(/^[0-9a-f]{8}-/);
      }
    });

    it('should give every step body attempt 1', () => {
      const { bodies } = replay(recording);
      for (const body of bodies) if (body.kind !== 'RunStatus') expect(body.attempt).toBe(1);
    });
  });

  describe.each(completedFixtures)('%s (completes)', (name) => {
    const recording = loadFixture(name);

    it('should move every step through QUEUED, STARTED, COMPLETED', () => {
      const { bodies } = replay(recording);
      const ids = stepIdsInOrder(bodies);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) {
        expect(statuses(bodies.filter((b) => b.kind !== 'RunStatus' && b.stepId === id)).map((s) => s.status)).toEqual([
          'QUEUED',
          'STARTED',
          'COMPLETED',
        ]);
      }
    });

    it("should follow each COMPLETED status with that step's output, once", () => {
      const { bodies } = replay(recording);
      const completed = bodies.flatMap((b, i) => (b.kind === 'StepStatus' && b.status === 'COMPLETED' ? [i] : []));
      expect(completed.length).toBe(stepIdsInOrder(bodies).length);
      for (const i of completed) {
        const status = bodies[i] as StepStatusBody;
        const next = bodies[i + 1];
        expect(next?.kind).toBe('StepOutput');
        expect((next as StepOutputBody).stepId).toBe(status.stepId);
      }
      expect(outputs(bodies)).toHaveLength(completed.length);
    });

    it("should carry each step's output as the engine reported it", () => {
      const { bodies } = replay(recording);
      const snapshot = toRunSnapshot(recording.runId, recording.details);
      for (const output of outputs(bodies)) {
        const task = snapshot.tasks.find((t) => t.taskId === output.stepId);
        expect(task).toBeDefined();
        expect(output.output).toEqual(task?.output);
      }
    });

    it("should end with RunStatus COMPLETED carrying the run's output", () => {
      const { bodies } = replay(recording);
      expect(bodies.at(-1)).toEqual({
        kind: 'RunStatus',
        status: 'COMPLETED',
        output: recording.details.run.output,
        error: null,
      });
    });
  });

  describe('stream-text', () => {
    const recording = loadFixture('stream-text');

    it('should emit chunks that, joined, equal the input text', () => {
      const { bodies } = replay(recording);
      const chunks = textChunks(bodies);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.map((c) => c.data).join('')).toBe(recording.input['text']);
    });

    it('should emit every chunk between STARTED and COMPLETED', () => {
      const { bodies } = replay(recording);
      const started = bodies.findIndex((b) => b.kind === 'StepStatus' && b.status === 'STARTED');
      const completed = bodies.findIndex((b) => b.kind === 'StepStatus' && b.status === 'COMPLETED');
      const chunkPositions = bodies.flatMap((b, i) => (b.kind === 'StreamChunk' ? [i] : []));
      expect(started).toBeGreaterThanOrEqual(0);
      for (const i of chunkPositions) {
        expect(i).toBeGreaterThan(started);
        expect(i).toBeLessThan(completed);
      }
    });

    it('should name the step "stream"', () => {
      const { bodies } = replay(recording);
      expect(new Set(bodies.flatMap((b) => (b.kind === 'RunStatus' ? [] : [b.stepName])))).toEqual(new Set(['stream']));
    });
  });

  describe('always-fails', () => {
    const recording = loadFixture('always-fails');

    it('should move the step through QUEUED, STARTED, FAILED', () => {
      const { bodies } = replay(recording);
      expect(statuses(bodies).map((s) => s.status)).toEqual(['QUEUED', 'STARTED', 'FAILED']);
    });

    it("should carry the worker's error message on FAILED", () => {
      const { bodies } = replay(recording);
      const failed = statuses(bodies).find((s) => s.status === 'FAILED');
      expect(failed?.error).toBe('explode failed: fixture');
    });

    it('should end with RunStatus FAILED carrying the error message and no output', () => {
      const { bodies } = replay(recording);
      expect(bodies.at(-1)).toEqual({
        kind: 'RunStatus',
        status: 'FAILED',
        output: null,
        error: 'explode failed: fixture',
      });
    });

    it("should never emit the worker's stack", () => {
      const { bodies } = replay(recording);
      // the recording does carry a stack: make sure the assertion below has something to miss
      expect(JSON.stringify(recording)).toContain('"stack\\"');
      const emitted = JSON.stringify(bodies);
      expect(emitted).not.toContain('stack');
      expect(emitted).not.toContain('worker-internal');
      expect(emitted).not.toContain('    at ');
    });

    it('should emit no output for the failed step', () => {
      const { bodies } = replay(recording);
      expect(outputs(bodies)).toEqual([]);
    });
  });

  describe('multi-step', () => {
    const recording = loadFixture('multi-step');

    it('should name the steps fetch, transform and summarize, in that order', () => {
      const { bodies } = replay(recording);
      const names = stepIdsInOrder(bodies).map(
        (id) => bodies.find((b) => b.kind !== 'RunStatus' && b.stepId === id && b.stepName) as StepStatusBody,
      );
      expect(names.map((b) => b.stepName)).toEqual(['fetch', 'transform', 'summarize']);
    });

    it('should keep each step on its own task id', () => {
      const { bodies } = replay(recording);
      const snapshot = toRunSnapshot(recording.runId, recording.details);
      for (const body of bodies) {
        if (body.kind === 'RunStatus') continue;
        expect(snapshot.stepNames[body.stepId]).toBe(body.stepName);
      }
    });

    it("should keep a chunk the engine delivered after its step's COMPLETED", () => {
      const { bodies } = replay(recording);
      const transform = textChunks(bodies).filter((c) => c.stepName === 'transform');
      expect(transform.map((c) => c.data)).toEqual([
        'transform: upper-casing records\n',
        'transform: 4 records done\n',
      ]);
      expect(gaps(bodies)).toEqual([]);
    });
  });

  describe('stream-file', () => {
    const recording = loadFixture('stream-file');

    it('should emit the frames as FileChunk bodies, not as text', () => {
      const { bodies } = replay(recording);
      const chunks = fileChunks(bodies);
      expect(chunks.length).toBeGreaterThan(1);
      expect(textChunks(bodies)).toEqual([]);
      expect(gaps(bodies)).toEqual([]);
      expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ name: 'random.bin', mimeType: 'application/octet-stream', count: chunks.length });
        expect(chunk.fileId).toBe(chunks[0]?.fileId);
      }
    });

    it('should emit chunks that reassemble to the announced size and sha256', () => {
      const { bodies } = replay(recording);
      const chunks = fileChunks(bodies);
      const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.data, 'base64')));
      expect(bytes.length).toBe(recording.input['sizeBytes']);
      expect(bytes.length).toBe(chunks[0]?.size);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(sha256).toBe(chunks[0]?.sha256);
      expect((recording.details.run.output as { sha256?: unknown }).sha256).toBe(sha256);
    });
  });

  describe('snapshot only (no listener events)', () => {
    it('should give each step of a finished run QUEUED, STARTED, COMPLETED and its output, then the RunStatus', () => {
      const recording = loadFixture('multi-step');
      const snapshot = toRunSnapshot(recording.runId, recording.details);
      const tracker = new RunTracker(recording.runId);
      const bodies = [...tracker.fromSnapshot(snapshot), ...tracker.finishFromSnapshot(snapshot)];
      const expected: RunEventBody[] = [];
      for (const task of snapshot.tasks) {
        const ref = { stepId: task.taskId, stepName: task.name, attempt: 1 };
        expected.push(
          { kind: 'StepStatus', ...ref, status: 'QUEUED', error: null },
          { kind: 'StepStatus', ...ref, status: 'STARTED', error: null },
          { kind: 'StepStatus', ...ref, status: 'COMPLETED', error: null },
          { kind: 'StepOutput', ...ref, output: task.output as StepOutputBody['output'] },
        );
      }
      expected.push({
        kind: 'RunStatus',
        status: 'COMPLETED',
        output: recording.details.run.output as RunStatusBody['output'],
        error: null,
      });
      expect(snapshot.tasks.map((t) => t.name)).toEqual(['fetch', 'transform', 'summarize']);
      expect(bodies).toEqual(expected);
    });

    it('should give a failed run QUEUED, STARTED, FAILED with the message, then RunStatus FAILED', () => {
      const recording = loadFixture('always-fails');
      const snapshot = toRunSnapshot(recording.runId, recording.details);
      const tracker = new RunTracker(recording.runId);
      const bodies = [...tracker.fromSnapshot(snapshot), ...tracker.finishFromSnapshot(snapshot)];
      const ref = { stepId: recording.runId, stepName: 'explode', attempt: 1 };
      expect(bodies).toEqual([
        { kind: 'StepStatus', ...ref, status: 'QUEUED', error: null },
        { kind: 'StepStatus', ...ref, status: 'STARTED', error: null },
        { kind: 'StepStatus', ...ref, status: 'FAILED', error: 'explode failed: fixture' },
        { kind: 'RunStatus', status: 'FAILED', output: null, error: 'explode failed: fixture' },
      ]);
    });
  });
});

// ---------------------------------------------------------------- synthetic

/** A tracker that knows TASK as "work" (and OTHER as "other"). */
function namedTracker(holdMs?: number): RunTracker {
  const tracker = new RunTracker(RUN, holdMs);
  tracker.learnNames(snapshot([task(), task({ taskId: OTHER, name: 'other' })]));
  return tracker;
}

function feed(tracker: RunTracker, events: Array<[EngineEvent, number?]>): RunEventBody[] {
  return events.flatMap(([e, now]) => tracker.fromEngineEvent(e, now ?? 0));
}

const data = (bodies: readonly RunEventBody[]): string[] => textChunks(bodies).map((c) => c.data);

describe('RunTracker chunk ordering', () => {
  it('should emit chunks that arrive out of order in index order', () => {
    const tracker = namedTracker();
    const early = feed(tracker, [[event({ eventType: 'STARTED', retryCount: 0 })], [chunk(1, 'b')]]);
    expect(data(early)).toEqual([]);
    const rest = feed(tracker, [[chunk(0, 'a')], [chunk(2, 'c')]]);
    expect(data(rest)).toEqual(['a', 'b', 'c']);
    expect(gaps([...early, ...rest])).toEqual([]);
  });

  it('should emit a chunk whose index comes next at once', () => {
    const tracker = namedTracker();
    expect(data(tracker.fromEngineEvent(chunk(0, 'a')))).toEqual(['a']);
    expect(data(tracker.fromEngineEvent(chunk(1, 'b')))).toEqual(['b']);
  });

  it('should emit QUEUED then STARTED before the first chunk of a step it saw no status for', () => {
    const tracker = namedTracker();
    const bodies = tracker.fromEngineEvent(chunk(0, 'a'));
    expect(bodies.map((b) => b.kind)).toEqual(['StepStatus', 'StepStatus', 'StreamChunk']);
    expect(statuses(bodies).map((s) => s.status)).toEqual(['QUEUED', 'STARTED']);
  });

  it('should drop a chunk whose index was already emitted', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [[chunk(0, 'a')], [chunk(1, 'b')], [chunk(1, 'b')], [chunk(0, 'a')], [chunk(2, 'c')]]);
    expect(data(bodies)).toEqual(['a', 'b', 'c']);
  });

  it('should emit a chunk held ahead of a hole once, even when it arrived twice', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [[chunk(0, 'a')], [chunk(2, 'c')], [chunk(2, 'c')], [chunk(1, 'b')], [chunk(2, 'c')]]);
    expect(data(bodies)).toEqual(['a', 'b', 'c']);
  });

  it('should emit chunks without an index as they come', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [
      [event({ eventType: 'STREAM', payload: 'x' })],
      [event({ eventType: 'STREAM', payload: 'y' })],
    ]);
    expect(data(bodies)).toEqual(['x', 'y']);
  });

  it('should keep the chunk order of each step separately', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [[chunk(1, 'b')], [chunk(0, 'x', OTHER)], [chunk(0, 'a')], [chunk(1, 'y', OTHER)]]);
    expect(textChunks(bodies).map((c) => `${c.stepName}:${c.data}`)).toEqual([
      'other:x',
      'work:a',
      'work:b',
      'other:y',
    ]);
  });
});

describe('RunTracker stream gaps', () => {
  it('should hold chunks ahead of a hole until holdMs has passed', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(3, 'd'), 100],
    ]);
    expect(tracker.flushStale(100)).toEqual([]);
    expect(tracker.flushStale(1_099)).toEqual([]);
  });

  it('should declare a hole held longer than holdMs a StreamGap counting the missed chunks, then emit the held chunks', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(3, 'd'), 100],
      [chunk(4, 'e'), 200],
    ]);
    const flushed = tracker.flushStale(1_101);
    expect(flushed).toEqual([
      {
        kind: 'StreamGap',
        stepId: TASK,
        stepName: 'work',
        attempt: 1,
        missedChunks: 2,
        reason: expect.stringMatching(/\S/),
      },
      { kind: 'StreamChunk', stepId: TASK, stepName: 'work', attempt: 1, data: 'd' },
      { kind: 'StreamChunk', stepId: TASK, stepName: 'work', attempt: 1, data: 'e' },
    ]);
    expect(tracker.flushStale(5_000)).toEqual([]);
  });

  it('should declare one StreamGap per hole among the held chunks', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 10],
      [chunk(5, 'f'), 20],
    ]);
    const flushed = tracker.flushStale(2_000);
    expect(
      flushed.map((b) =>
        b.kind === 'StreamGap' ? `gap:${b.missedChunks}` : b.kind === 'StreamChunk' ? b.data : b.kind,
      ),
    ).toEqual(['gap:1', 'c', 'gap:2', 'f']);
  });

  it('should drop a chunk of a hole that was already declared a gap, and go on after it', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
    ]);
    expect(gaps(tracker.flushStale(1_500))).toHaveLength(1);
    const late = feed(tracker, [
      [chunk(1, 'b'), 1_600],
      [chunk(3, 'd'), 1_700],
    ]);
    expect(data(late)).toEqual(['d']);
    expect(gaps(late)).toEqual([]);
  });

  it('should declare a stale hole when the next engine event arrives after holdMs', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
    ]);
    const bodies = tracker.fromEngineEvent(chunk(0, 'x', OTHER), 1_500);
    expect(
      bodies.map((b) =>
        b.kind === 'StreamGap'
          ? `gap:${b.stepName}:${b.missedChunks}`
          : b.kind === 'StreamChunk'
            ? b.data
            : b.kind === 'StepStatus'
              ? `${b.stepName}:${b.status}`
              : b.kind,
      ),
    ).toEqual(['gap:work:1', 'c', 'other:QUEUED', 'other:STARTED', 'x']);
  });

  it('should not declare a gap when the hole is filled in time', () => {
    const tracker = namedTracker(1_000);
    const bodies = feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 100],
      [chunk(1, 'b'), 900],
    ]);
    expect(data(bodies)).toEqual(['a', 'b', 'c']);
    expect(tracker.flushStale(10_000)).toEqual([]);
  });

  it('should time a new hole from its own first held chunk, not from an earlier hole that was filled', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
      [chunk(1, 'b'), 100],
      [chunk(4, 'e'), 900],
    ]);
    expect(tracker.flushStale(1_500)).toEqual([]);
    expect(gaps(tracker.flushStale(1_901))).toHaveLength(1);
  });

  it('should flush held chunks with their gap before the RunStatus when the run finishes', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
    ]);
    const done = snapshot([task({ status: 'COMPLETED', output: { ok: true } })], {
      status: 'COMPLETED',
      output: { ok: true },
    });
    tracker.fromSnapshot(done);
    const finish = tracker.finishFromSnapshot(done);
    expect(finish.map((b) => b.kind)).toEqual(['StreamGap', 'StreamChunk', 'RunStatus']);
    expect(gaps(finish)[0]?.missedChunks).toBe(1);
  });

  it('should turn a malformed file frame into a StreamGap of one chunk and go on with the next index', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [[chunk(0, `${FILE_FRAME_PREFIX}{"fileId":"f"}`)], [chunk(1, 'after')]]);
    const gap = gaps(bodies);
    expect(gap).toHaveLength(1);
    expect(gap[0]).toMatchObject({ stepId: TASK, stepName: 'work', attempt: 1, missedChunks: 1 });
    expect(gap[0]?.reason).toMatch(/malformed/);
    expect(data(bodies)).toEqual(['after']);
    expect(fileChunks(bodies)).toEqual([]);
  });

  it('should emit a well-formed file frame as a FileChunk with its header and data', () => {
    const tracker = namedTracker();
    const header = {
      fileId: 'f1',
      name: 'a.txt',
      mimeType: 'text/plain',
      index: 0,
      count: 1,
      size: 2,
      sha256: createHash('sha256').update('hi').digest('hex'),
    };
    const bodies = tracker.fromEngineEvent(chunk(0, encodeFileFrame(header, Buffer.from('hi').toString('base64'))));
    expect(fileChunks(bodies)).toEqual([
      { kind: 'FileChunk', stepId: TASK, stepName: 'work', attempt: 1, ...header, data: 'aGk=' },
    ]);
  });
});

describe('RunTracker statuses', () => {
  it('should emit QUEUED and STARTED before a terminal status the step reached without them', () => {
    const tracker = namedTracker();
    const bodies = tracker.fromEngineEvent(event({ eventType: 'COMPLETED', retryCount: 0, payload: '{"n":1}' }));
    expect(bodies.map((b) => (b.kind === 'StepStatus' ? b.status : b.kind))).toEqual([
      'QUEUED',
      'STARTED',
      'COMPLETED',
      'StepOutput',
    ]);
    expect(outputs(bodies)[0]?.output).toEqual({ n: 1 });
  });

  it('should never move a status backwards nor repeat it', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [
      [event({ eventType: 'STARTED', retryCount: 0 })],
      [chunk(0, 'a')],
      [event({ eventType: 'STARTED', retryCount: 0 })],
      [event({ eventType: 'COMPLETED', retryCount: 0, payload: '1' })],
      [event({ eventType: 'STARTED', retryCount: 0 })],
      [event({ eventType: 'COMPLETED', retryCount: 0, payload: '1' })],
    ]);
    expect(statuses(bodies).map((s) => s.status)).toEqual(['QUEUED', 'STARTED', 'COMPLETED']);
    expect(outputs(bodies)).toHaveLength(1);
  });

  it('should emit QUEUED then CANCELLED, without a STARTED, for a step that never ran', () => {
    const tracker = namedTracker();
    const bodies = tracker.fromEngineEvent(event({ eventType: 'CANCELLED', retryCount: 0 }));
    expect(statuses(bodies).map((s) => s.status)).toEqual(['QUEUED', 'CANCELLED']);
  });

  it('should emit QUEUED, STARTED then TIMED_OUT for a step that timed out', () => {
    const tracker = namedTracker();
    const bodies = tracker.fromEngineEvent(event({ eventType: 'TIMED_OUT', retryCount: 0 }));
    expect(statuses(bodies).map((s) => s.status)).toEqual(['QUEUED', 'STARTED', 'TIMED_OUT']);
  });

  it('should restart the statuses under attempt 2 on a retry after a FAILED attempt', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [
      [event({ eventType: 'STARTED', retryCount: 0 })],
      [chunk(0, 'first')],
      [
        event({
          eventType: 'FAILED',
          retryCount: 0,
          payload: JSON.stringify({ message: 'boom', stack: 'Error: boom\n    at x' }),
        }),
      ],
      [event({ eventType: 'STARTED', retryCount: 1 })],
      [chunk(0, 'second')],
      [event({ eventType: 'COMPLETED', retryCount: 1, payload: '{"ok":true}' })],
    ]);
    expect(statuses(bodies).map((s) => [s.status, s.attempt, s.error])).toEqual([
      ['QUEUED', 1, null],
      ['STARTED', 1, null],
      ['FAILED', 1, 'boom'],
      ['QUEUED', 2, null],
      ['STARTED', 2, null],
      ['COMPLETED', 2, null],
    ]);
    expect(textChunks(bodies).map((c) => [c.data, c.attempt])).toEqual([
      ['first', 1],
      ['second', 2],
    ]);
    expect(outputs(bodies)).toEqual([
      { kind: 'StepOutput', stepId: TASK, stepName: 'work', attempt: 2, output: { ok: true } },
    ]);
  });

  it('should ignore a snapshot of an earlier attempt once the listener is on a later one', () => {
    const tracker = namedTracker();
    feed(tracker, [
      [event({ eventType: 'FAILED', retryCount: 0, payload: 'boom' })],
      [event({ eventType: 'STARTED', retryCount: 1 })],
    ]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'FAILED', error: 'boom', attempt: 1 })]))).toEqual([]);
  });

  it('should start a new attempt from QUEUED on a snapshot of a later attempt', () => {
    const tracker = namedTracker();
    feed(tracker, [[event({ eventType: 'FAILED', retryCount: 0, payload: 'boom' })]]);
    const bodies = tracker.fromSnapshot(snapshot([task({ status: 'RUNNING', attempt: 2 })]));
    expect(statuses(bodies).map((s) => [s.status, s.attempt])).toEqual([
      ['QUEUED', 2],
      ['STARTED', 2],
    ]);
  });

  it('should map WORKFLOW_RUN events to nothing, whatever their type', () => {
    const tracker = namedTracker();
    for (const eventType of ['STARTED', 'COMPLETED', 'FAILED', 'CANCELLED'] as const) {
      expect(
        tracker.fromEngineEvent(event({ resourceType: 'WORKFLOW_RUN', resourceId: RUN, eventType, hangup: true })),
      ).toEqual([]);
    }
    expect(tracker.finished).toBe(false);
  });

  it('should map STEP_RUN events of an unknown type to nothing', () => {
    const tracker = namedTracker();
    expect(tracker.fromEngineEvent(event({ eventType: 'UNKNOWN', payload: 'x' }))).toEqual([]);
  });

  it('should name a step by its task id until a snapshot names it', () => {
    const tracker = new RunTracker(RUN);
    expect(tracker.knowsTask(TASK)).toBe(false);
    const before = tracker.fromEngineEvent(event({ eventType: 'STARTED', retryCount: 0 }));
    expect(statuses(before)[0]?.stepName).toBe(TASK);
    tracker.learnNames(snapshot([task()]));
    expect(tracker.knowsTask(TASK)).toBe(true);
    const after = tracker.fromEngineEvent(chunk(0, 'a'));
    expect(after.every((b) => b.kind !== 'RunStatus' && b.stepName === 'work')).toBe(true);
  });

  it('should keep a name given by nameTask only until REST names the task', () => {
    const tracker = new RunTracker(RUN);
    tracker.nameTask(TASK, 'placeholder');
    tracker.nameTask(TASK, 'ignored');
    expect(statuses(tracker.fromEngineEvent(event({ eventType: 'STARTED', retryCount: 0 })))[0]?.stepName).toBe(
      'placeholder',
    );
    tracker.learnNames(snapshot([task()]));
    expect(statuses(tracker.fromEngineEvent(chunk(0, 'a')))[0]?.stepName).toBe('work');
  });
});

describe('RunTracker reconciliation with snapshots', () => {
  it('should give each step of a finished run QUEUED, STARTED, COMPLETED and output, then the RunStatus, from snapshots alone', () => {
    const tracker = new RunTracker(RUN);
    const done = snapshot(
      [
        task({ status: 'COMPLETED', output: { n: 1 } }),
        task({ taskId: OTHER, name: 'other', status: 'COMPLETED', output: [2] }),
      ],
      { status: 'COMPLETED', output: { total: 3 } },
    );
    const work = { stepId: TASK, stepName: 'work', attempt: 1 };
    const other = { stepId: OTHER, stepName: 'other', attempt: 1 };
    expect(tracker.fromSnapshot(done)).toEqual([
      { kind: 'StepStatus', ...work, status: 'QUEUED', error: null },
      { kind: 'StepStatus', ...work, status: 'STARTED', error: null },
      { kind: 'StepStatus', ...work, status: 'COMPLETED', error: null },
      { kind: 'StepOutput', ...work, output: { n: 1 } },
      { kind: 'StepStatus', ...other, status: 'QUEUED', error: null },
      { kind: 'StepStatus', ...other, status: 'STARTED', error: null },
      { kind: 'StepStatus', ...other, status: 'COMPLETED', error: null },
      { kind: 'StepOutput', ...other, output: [2] },
    ]);
    expect(tracker.finishFromSnapshot(done)).toEqual([
      { kind: 'RunStatus', status: 'COMPLETED', output: { total: 3 }, error: null },
    ]);
    expect(tracker.finished).toBe(true);
  });

  it('should say each transition once however many snapshots arrive', () => {
    const tracker = new RunTracker(RUN);
    expect(statuses(tracker.fromSnapshot(snapshot([task({ status: 'QUEUED' })]))).map((s) => s.status)).toEqual([
      'QUEUED',
    ]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'QUEUED' })]))).toEqual([]);
    expect(statuses(tracker.fromSnapshot(snapshot([task({ status: 'RUNNING' })]))).map((s) => s.status)).toEqual([
      'STARTED',
    ]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'RUNNING' })]))).toEqual([]);
  });

  it('should take a terminal step through QUEUED to STARTED only while `settled` returns false', () => {
    const tracker = namedTracker();
    const done = snapshot([task({ status: 'COMPLETED', output: { n: 1 } })], { status: 'COMPLETED' });
    const seen: TaskSnapshot[] = [];
    const unsettled = (t: TaskSnapshot): boolean => {
      seen.push(t);
      return false;
    };
    expect(statuses(tracker.fromSnapshot(done, unsettled)).map((s) => s.status)).toEqual(['QUEUED', 'STARTED']);
    expect(tracker.fromSnapshot(done, unsettled)).toEqual([]);
    expect(seen.map((t) => t.taskId)).toEqual([TASK, TASK]);
    const settled = tracker.fromSnapshot(done, () => true);
    expect(settled.map((b) => (b.kind === 'StepStatus' ? b.status : b.kind))).toEqual(['COMPLETED', 'StepOutput']);
  });

  it('should let the listener deliver the terminal status of an unsettled step, with its last chunks first', () => {
    const tracker = namedTracker();
    const done = snapshot([task({ status: 'COMPLETED', output: { n: 1 } })], { status: 'COMPLETED' });
    tracker.fromSnapshot(done, () => false);
    const bodies = feed(tracker, [
      [chunk(0, 'last')],
      [event({ eventType: 'COMPLETED', retryCount: 0, payload: '{"n":1}' })],
    ]);
    expect(bodies.map((b) => (b.kind === 'StepStatus' ? b.status : b.kind))).toEqual([
      'StreamChunk',
      'COMPLETED',
      'StepOutput',
    ]);
    expect(tracker.fromSnapshot(done)).toEqual([]);
  });

  it('should say nothing for an unsettled CANCELLED step', () => {
    const tracker = namedTracker();
    expect(tracker.fromSnapshot(snapshot([task({ status: 'CANCELLED' })]), () => false)).toEqual([]);
  });

  it("should report a FAILED task's message, never its stack", () => {
    const tracker = namedTracker();
    const error = JSON.stringify({ message: 'nope', stack: 'Error: nope\n    at secret (/srv/app.ts:1:1)' });
    const failed = snapshot([task({ status: 'FAILED', error })], { status: 'FAILED' });
    const bodies = [...tracker.fromSnapshot(failed), ...tracker.finishFromSnapshot(failed)];
    expect(statuses(bodies).at(-1)).toMatchObject({ status: 'FAILED', error: 'nope' });
    expect(bodies.at(-1)).toEqual({ kind: 'RunStatus', status: 'FAILED', output: null, error: 'nope' });
    expect(JSON.stringify(bodies)).not.toContain('secret');
  });

  it('should not finish while the run is still running', () => {
    const tracker = namedTracker();
    expect(tracker.finishFromSnapshot(snapshot([task({ status: 'RUNNING' })]))).toEqual([]);
    expect(tracker.finished).toBe(false);
  });

  it('should not finish while a step of a terminal run is still running', () => {
    const tracker = namedTracker();
    const bodies = tracker.finishFromSnapshot(
      snapshot([task({ status: 'COMPLETED' }), task({ taskId: OTHER, name: 'other', status: 'RUNNING' })], {
        status: 'COMPLETED',
      }),
    );
    expect(bodies).toEqual([]);
    expect(tracker.finished).toBe(false);
  });

  it('should finish a cancelled run with RunStatus CANCELLED and no output or error', () => {
    const tracker = namedTracker();
    const cancelled = snapshot([task({ status: 'CANCELLED' })], { status: 'CANCELLED', output: { partial: true } });
    expect(tracker.finishFromSnapshot(cancelled)).toEqual([
      { kind: 'RunStatus', status: 'CANCELLED', output: null, error: null },
    ]);
  });

  it('should emit nothing after the run finished', () => {
    const tracker = namedTracker();
    const done = snapshot([task({ status: 'COMPLETED', output: 1 })], { status: 'COMPLETED', output: 1 });
    expect(runStatuses(tracker.finishFromSnapshot(done))).toHaveLength(1);
    expect(tracker.finished).toBe(true);
    expect(tracker.fromEngineEvent(chunk(0, 'late'), 10)).toEqual([]);
    expect(tracker.fromEngineEvent(chunk(5, 'later'), 20)).toEqual([]);
    expect(tracker.fromEngineEvent(event({ eventType: 'COMPLETED', retryCount: 0, payload: '1' }))).toEqual([]);
    expect(tracker.fromSnapshot(done)).toEqual([]);
    expect(tracker.fromSnapshot(snapshot([task({ status: 'RUNNING', attempt: 2 })]))).toEqual([]);
    expect(tracker.finishFromSnapshot(done)).toEqual([]);
    expect(tracker.flushStale(1_000_000)).toEqual([]);
  });
});

describe('errorMessage', () => {
  it('should take the message of a JSON error and leave its stack', () => {
    expect(errorMessage('{"message":"bad","stack":"Error: bad\\n    at x"}')).toBe('bad');
  });

  it('should keep only the first line of a plain-text error', () => {
    expect(errorMessage('  ValueError: nope\nTraceback (most recent call last):\n  File "x.py"')).toBe(
      'ValueError: nope',
    );
  });

  it('should treat JSON without a string message as plain text', () => {
    expect(errorMessage('{"code":1}')).toBe('{"code":1}');
    expect(errorMessage('{not json')).toBe('{not json');
  });
});

describe('toRunSnapshot', () => {
  it('should name tasks by the step names of the workflow shape, not by their display names', () => {
    const recording = loadFixture('multi-step');
    const snapshot = toRunSnapshot(recording.runId, recording.details);
    expect(Object.values(snapshot.stepNames).sort()).toEqual(['fetch', 'summarize', 'transform']);
    for (const t of snapshot.tasks) expect(t.name).not.toMatch(/\d{10,}/);
  });

  it('should list tasks oldest first though REST lists them newest first', () => {
    const recording = loadFixture('multi-step');
    expect(recording.details.tasks.map((t) => t.displayName.replace(/-\d+$/, ''))).toEqual([
      'summarize',
      'transform',
      'fetch',
    ]);
    const snapshot = toRunSnapshot(recording.runId, recording.details);
    expect(snapshot.tasks.map((t) => t.name)).toEqual(['fetch', 'transform', 'summarize']);
  });

  it('should take the workflow name from the run details, not from the task name', () => {
    for (const name of ['stream-text', 'multi-step', 'stream-file', 'always-fails'] as const) {
      const recording = loadFixture(name);
      expect(toRunSnapshot(recording.runId, recording.details).workflowName).toBe(name);
    }
  });

  it('should map statuses, attempts and errors of a failed run', () => {
    const recording = loadFixture('always-fails');
    const snapshot = toRunSnapshot(recording.runId, recording.details);
    expect(snapshot.status).toBe('FAILED');
    expect(snapshot.tasks).toHaveLength(1);
    expect(snapshot.tasks[0]).toMatchObject({ taskId: recording.runId, name: 'explode', status: 'FAILED', attempt: 1 });
    expect(snapshot.tasks[0]?.error).toContain('explode failed: fixture');
  });
});

describe('RunTracker on a recorded retry', () => {
  it('should open attempt 2 at the first chunk after attempt 1 failed, though the engine announced no retry', () => {
    const { bodies } = replay(loadFixture('retry-once'));
    const story = bodies
      .filter((b) => b.kind !== 'RunStatus')
      .map(
        (b) =>
          `${'attempt' in b ? b.attempt : ''}:${b.kind === 'StepStatus' ? b.status : b.kind === 'StreamChunk' ? b.data : b.kind}`,
      );
    expect(story).toEqual([
      '1:QUEUED',
      '1:STARTED',
      '1:attempt 1 running\n',
      '1:FAILED',
      '2:QUEUED',
      '2:STARTED',
      '2:attempt 2 running\n',
      '2:COMPLETED',
      '2:StepOutput',
    ]);
    expect(runStatuses(bodies)).toMatchObject([{ status: 'COMPLETED', output: { attempt: 2 } }]);
  });

  it('should keep a late chunk that continues the failed attempt under that attempt', () => {
    const tracker = namedTracker();
    const bodies = feed(tracker, [
      [chunk(0, 'a')],
      [event({ eventType: 'FAILED', retryCount: 0, payload: '{"message":"x"}' })],
      [chunk(1, 'late')],
      [chunk(0, 'retry')],
    ]);
    expect(textChunks(bodies).map((c) => `${c.attempt}:${c.data}`)).toEqual(['1:a', '1:late', '2:retry']);
  });
});

describe('RunTracker regressions', () => {
  it('should emit what a failed attempt still held, with its gap, before the retry starts over', () => {
    const tracker = namedTracker(1_000);
    const bodies = feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
      [event({ eventType: 'FAILED', retryCount: 0, payload: '{"message":"x"}' }), 10],
      [event({ eventType: 'STARTED', retryCount: 1 }), 20],
    ]);
    expect(data(bodies)).toEqual(['a', 'c']);
    expect(gaps(bodies)).toMatchObject([{ missedChunks: 1, attempt: 1 }]);
    expect(textChunks(bodies).map((c) => c.attempt)).toEqual([1, 1]);
    expect(statuses(bodies).at(-1)).toMatchObject({ status: 'QUEUED', attempt: 2 });
  });

  it('should restart the hold timer whenever the front of the held chunks moves', () => {
    const tracker = namedTracker(1_000);
    feed(tracker, [
      [chunk(0, 'a'), 0],
      [chunk(2, 'c'), 0],
      [chunk(4, 'e'), 900],
      [chunk(1, 'b'), 950],
    ]);
    // chunk 4 has waited 100 ms only: the hole at 3 is not a gap yet
    expect(tracker.flushStale(1_000)).toEqual([]);
    const late = tracker.flushStale(1_950);
    expect(gaps(late)).toMatchObject([{ missedChunks: 1 }]);
    expect(data(late)).toEqual(['e']);
  });
});

describe('toEngineEvent', () => {
  const raw: RawWorkflowEvent = {
    workflowRunId: RUN,
    resourceType: 1,
    eventType: 6,
    resourceId: TASK,
    eventTimestamp: new Date('2026-01-02T03:04:05.000Z'),
    eventPayload: 'abc',
    hangup: false,
    retryCount: 2,
    eventIndex: 7,
  };

  it('should map a raw STEP_RUN STREAM event to plain data', () => {
    expect(toEngineEvent(raw)).toEqual({
      workflowRunId: RUN,
      resourceType: 'STEP_RUN',
      eventType: 'STREAM',
      resourceId: TASK,
      timestamp: '2026-01-02T03:04:05.000Z',
      payload: 'abc',
      hangup: false,
      retryCount: 2,
      eventIndex: 7,
    });
  });

  it('should map absent optional fields to null and unknown codes to UNKNOWN', () => {
    const { eventTimestamp: _t, retryCount: _r, eventIndex: _i, ...rest } = raw;
    expect(toEngineEvent({ ...rest, resourceType: 99, eventType: 99 })).toMatchObject({
      resourceType: 'UNKNOWN',
      eventType: 'UNKNOWN',
      timestamp: null,
      retryCount: null,
      eventIndex: null,
    });
  });

  it('should map a WORKFLOW_RUN COMPLETED hangup', () => {
    expect(toEngineEvent({ ...raw, resourceType: 2, eventType: 2, hangup: true })).toMatchObject({
      resourceType: 'WORKFLOW_RUN',
      eventType: 'COMPLETED',
      hangup: true,
    });
  });
});
