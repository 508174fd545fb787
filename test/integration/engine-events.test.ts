/**
 * What the real engine emits for each example workflow, seen through the raw
 * dispatcher listener (no gateway). The sequences are asserted here, and with
 * RECORD_FIXTURES=1 (`npm run fixtures:record`) written to test/fixtures/ so the
 * pure mapping is unit-tested on real engine data.
 */
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHatchetAdapter, type RawRunDetails } from '../../src/engine/hatchet-adapter.js';
import type { EngineEvent } from '../../src/events/engine-event.js';
import { encodeStreamClose } from '../../src/frames/stream-control.js';
import { decodeStreamPayload } from '../../src/frames/stream-payload.js';
import { engineClient } from '../helpers/test-gateway.js';

let hatchet: HatchetClient;
beforeAll(() => {
  hatchet = engineClient();
});

interface Recording {
  workflow: string;
  input: Record<string, unknown>;
  runId: string;
  /** Raw listener events, in arrival order, by correlation metadata opened before the trigger. */
  events: EngineEvent[];
  /** REST details once the run finished. */
  details: RawRunDetails;
}

/** Triggers `workflow` with a listener attached first, and records until the run is final in REST. */
async function record(workflow: string, input: Record<string, unknown>): Promise<Recording> {
  const adapter = createHatchetAdapter(hatchet);
  const key = randomUUID();
  const abort = new AbortController();
  const events: EngineEvent[] = [];
  const listening = (async () => {
    // re-attach after every hangup (engine v0.105 hangs DAG listeners up early), until aborted
    while (!abort.signal.aborted) {
      for await (const e of adapter.listen({ metadata: { key: 'fixture', value: key } }, abort.signal)) events.push(e);
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 100)); // the listener must be registered before the trigger
  const ref = await hatchet.admin.runWorkflow(workflow, input, { additionalMetadata: { fixture: key } });
  const runId = await ref.getWorkflowRunId();
  let details: RawRunDetails | undefined;
  const deadline = Date.now() + 30_000;
  let failedSince: number | null = null;
  while (Date.now() < deadline) {
    details = (await hatchet.runs.get(runId).catch(() => undefined)) as RawRunDetails | undefined;
    const status = details?.run.status;
    // REST briefly shows FAILED between a failed attempt and its retry: a failure must stand
    failedSince = status === 'FAILED' ? (failedSince ?? Date.now()) : null;
    if (status === 'COMPLETED' || status === 'CANCELLED') break;
    if (failedSince !== null && Date.now() - failedSince >= 2_000) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // the listener may still be delivering the run's last events: wait for the
  // engine's run-level event of the final status (the examples' last chunks precede it)
  const finalStatus = details?.run.status;
  const sawEnd = () =>
    events.some((e) => e.resourceType === 'WORKFLOW_RUN' && e.eventType === finalStatus && e.workflowRunId === runId);
  const endDeadline = Date.now() + 10_000;
  while (!sawEnd() && Date.now() < endDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
  abort.abort();
  await listening;
  if (!details) throw new Error(`run ${runId} did not finish`);
  const recording = { workflow, input, runId, events, details };
  if (process.env['RECORD_FIXTURES']) {
    await writeFile(
      new URL(`../fixtures/${workflow}.json`, import.meta.url),
      `${JSON.stringify(recording, null, 2)}\n`,
    );
  }
  return recording;
}

function stepEvents(r: Recording, type: string): EngineEvent[] {
  return r.events.filter((e) => e.resourceType === 'STEP_RUN' && e.eventType === type);
}

describe('the engine listener (raw, no gateway)', () => {
  it("should give stream-text a task STARTED, its chunks and the worker kit's close frame with consecutive indexes, then COMPLETED with the output", async () => {
    const r = await record('stream-text', { text: 'abcdefghij', chunkSize: 3, delayMs: 20 });
    expect(stepEvents(r, 'STARTED')).toHaveLength(1);
    const chunks = stepEvents(r, 'STREAM');
    expect(chunks.map((c) => c.payload)).toEqual([
      'abc',
      'def',
      'ghi',
      'j',
      encodeStreamClose({
        chunks: 4,
        bytes: 10,
        sha256: createHash('sha256').update('abcdefghij').digest('hex'),
      }),
    ]);
    expect(chunks.map((c) => c.eventIndex)).toEqual([0, 1, 2, 3, 4]);
    const completed = stepEvents(r, 'COMPLETED');
    expect(completed).toHaveLength(1);
    expect(JSON.parse(completed[0]?.payload ?? '')).toEqual({ length: 10, chunks: 4 });
    // no step name anywhere in the listener events: only task ids
    expect(new Set(r.events.filter((e) => e.resourceType === 'STEP_RUN').map((e) => e.resourceId)).size).toBe(1);
    expect(r.details.run.status).toBe('COMPLETED');
  });

  it('should give multi-step STARTED and COMPLETED in DAG order, each step at most once', async () => {
    const r = await record('multi-step', { delayMs: 20 });
    const names = new Map(r.details.shape.map((s) => [s.taskExternalId, s.taskName]));
    const started = stepEvents(r, 'STARTED').map((e) => names.get(e.resourceId));
    const completed = stepEvents(r, 'COMPLETED').map((e) => names.get(e.resourceId));
    // an event can fall in the gap while the listener re-attaches after the engine's
    // mid-run DAG hangup (seen in CI): what arrives keeps the DAG's order, and REST has all
    const inDagOrder = (steps: Array<string | undefined>) =>
      ['fetch', 'transform', 'summarize'].filter((name) => steps.includes(name));
    expect(started).toEqual(inDagOrder(started));
    expect(completed).toEqual(inDagOrder(completed));
    expect(started.length + completed.length).toBeGreaterThanOrEqual(3);
    expect(r.details.tasks.map((t) => t.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    // engine v0.105 also sends a WORKFLOW_RUN COMPLETED with hangup when the DAG merely starts running
    expect(r.events.filter((e) => e.resourceType === 'WORKFLOW_RUN').length).toBeGreaterThanOrEqual(1);
  });

  it('should give always-fails one FAILED event whose payload carries the message and the stack', async () => {
    const r = await record('always-fails', { message: 'fixture' });
    const failed = stepEvents(r, 'FAILED');
    expect(failed).toHaveLength(1);
    const payload = JSON.parse(failed[0]?.payload ?? '{}') as { message?: string; stack?: string };
    expect(payload.message).toBe('explode failed: fixture');
    expect(payload.stack).toContain('explode failed: fixture');
    expect(r.details.run.status).toBe('FAILED');
  });

  it('should give retry-once no event when the retry starts, and chunk indexes that start again from 0', async () => {
    const r = await record('retry-once', {});
    expect(stepEvents(r, 'FAILED').map((e) => e.retryCount)).toEqual([0]);
    // the task is created once: the retry has no STARTED of its own
    expect(stepEvents(r, 'STARTED').map((e) => e.retryCount)).toEqual([0]);
    // the step's COMPLETED can fall in the gap while the listener re-attaches
    // after the run-level hangup of the failed attempt (seen on a loaded machine):
    // when it comes, it carries the retry's count; REST always has the end
    expect(stepEvents(r, 'COMPLETED').map((e) => e.retryCount)).toEqual(
      stepEvents(r, 'COMPLETED').length === 0 ? [] : [1],
    );
    expect(r.details.run.status).toBe('COMPLETED');
    // every chunk that came has index 0 and no retry count, in attempt order (one may fall in
    // a re-attach gap on a loaded machine; the fixture recorder keeps a run where both came);
    // each attempt's stream ends with the worker kit's close frame, at index 1
    const stream = stepEvents(r, 'STREAM');
    const closes = stream.filter((e) => decodeStreamPayload(e.payload).kind === 'close');
    for (const close of closes) expect([close.eventIndex, close.retryCount]).toEqual([1, null]);
    const chunks = stream.filter((e) => !closes.includes(e));
    const payloads = chunks.map((e) => e.payload);
    expect(payloads).toEqual(['attempt 1 running\n', 'attempt 2 running\n'].filter((p) => payloads.includes(p)));
    expect(chunks.length).toBeGreaterThanOrEqual(1);
    for (const chunk of chunks) expect([chunk.eventIndex, chunk.retryCount]).toEqual([0, null]);
  });

  it("should give stream-file framed chunks as STREAM events, then the counted stream's close frame", async () => {
    const r = await record('stream-file', { sizeBytes: 5000, seed: 7 });
    const chunks = stepEvents(r, 'STREAM');
    expect(chunks).toHaveLength(4);
    expect(chunks.slice(0, 3).every((c) => c.payload.startsWith('\u0000hatchet-file/1\n'))).toBe(true);
    expect(decodeStreamPayload(chunks[3]?.payload ?? '')).toMatchObject({ kind: 'close', chunks: 3 });
    expect(r.details.run.status).toBe('COMPLETED');
  });
});
