/**
 * Whole streams at load, or a gap said with its count: many runs streaming at
 * once through one gateway, against the real engine. The same file runs on
 * our patched sidecar (project `integration`) and on the engine as Hatchet
 * releases it (project `unpatched`, as on Hatchet Cloud), where fewer
 * promises hold: no silent loss with the worker kit, counted gaps, no false
 * alarms; whole streams only where the engine orders a run's finish.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chunkText } from '../../examples/workers/stream-text.js';
import type { RunSource, WorkflowGateway } from '../../src/runs/run-source.js';
import { RUN_EVENTS, type WireEvent } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  startTestGateway,
  type TestGateway,
  triggerRun,
  wsClient,
} from '../helpers/test-gateway.js';

const patched = inject('engine').patches.includes('ordered-finish');

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(disposeAll);

async function follow(target: TestGateway, runId: string, timeoutMs = 90_000): Promise<WireEvent[]> {
  const results = await collect<{ workflowRunEvents: WireEvent }>(
    wsClient(target),
    RUN_EVENTS,
    { runId },
    { timeoutMs },
  );
  for (const r of results) expect(r.errors).toBeUndefined();
  return results.map((r) => r.data?.workflowRunEvents as WireEvent);
}

/** What a client can tell from a run's events about one step's stream. */
function streamOf(events: readonly WireEvent[], stepName?: string) {
  const ofStep = events.filter((e) => stepName === undefined || e.stepName === stepName);
  const chunks = ofStep.filter((e) => e.__typename === 'StreamChunkEvent');
  const gaps = ofStep.filter((e) => e.__typename === 'StreamGapEvent');
  return {
    text: chunks.map((e) => e.data).join(''),
    chunks: chunks.length,
    gaps: gaps.length,
    counted: gaps.reduce((sum, g) => sum + (g.missedChunks ?? 0), 0),
    uncounted: gaps.filter((g) => g.missedChunks === null).length,
    runStatus: events.at(-1)?.runStatus,
  };
}

/** R runs of `stream-text` at once, each with its own text; resolves with each run's events and expected chunks. */
async function streamAtOnce(runs: number, input: Record<string, unknown>) {
  const texts = Array.from({ length: runs }, (_, i) => `r${i}:${'0123456789'.repeat(12)};`);
  const runIds = await Promise.all(texts.map((text) => triggerRun(gateway, 'stream-text', { ...input, text })));
  const events = await Promise.all(runIds.map((runId) => follow(gateway, runId)));
  return texts.map((text, i) => ({
    text,
    expectedChunks: chunkText(text, input['chunkSize'] as number).length,
    events: events[i] as WireEvent[],
  }));
}

describe('counted streams (worker kit) with many runs at once', () => {
  it('should deliver 30 concurrent streams whole, or say what is missing with its count, never lose silently', async () => {
    const runs = await streamAtOnce(30, { chunkSize: 4, delayMs: 25 });
    const whole = runs.filter(({ text, events }) => streamOf(events).text === text && streamOf(events).gaps === 0);
    for (const { text, expectedChunks, events } of runs) {
      const stream = streamOf(events);
      expect(stream.runStatus).toBe('COMPLETED');
      if (stream.text === text) {
        expect(stream.gaps, 'a gap said where nothing was lost').toBe(0);
        continue;
      }
      // something is missing: it is said, and counted (the kit's close frame or receipt knows)
      expect(stream.gaps, `silent loss: ${stream.text.length} of ${text.length} characters`).toBeGreaterThan(0);
      const said = events.filter((e) => e.__typename === 'StreamGapEvent').map((g) => [g.missedChunks, g.reason]);
      expect(stream.uncounted, JSON.stringify({ said, got: stream.text.length, of: text.length })).toBe(0);
      expect(stream.chunks + stream.counted).toBe(expectedChunks);
    }
    // where the engine orders a run's finish after its chunks, nothing is missing at all
    if (patched) expect(whole).toHaveLength(runs.length);
  });

  it.runIf(patched)(
    "should deliver 30 concurrent streams of plain ctx.putStream whole on the engine that orders a run's finish",
    async () => {
      const runs = await streamAtOnce(30, { chunkSize: 4, delayMs: 25, plain: true });
      for (const { text, events } of runs) {
        expect(streamOf(events)).toMatchObject({ text, gaps: 0, runStatus: 'COMPLETED' });
      }
    },
  );

  it('should say no gap for 50 multi-step runs, 3 at a time, where nothing was lost', async () => {
    const expected = {
      fetch: 'fetch: downloading records\nfetch: got 4 records\n',
      transform: 'transform: upper-casing records\ntransform: 4 records done\n',
      summarize: 'summarize: writing summary\nsummarize: 4 records: ALPHA, BETA, GAMMA, DELTA\n',
    };
    let falseAlarms = 0;
    let gaps = 0;
    for (let batch = 0; batch < 50; batch += 3) {
      const size = Math.min(3, 50 - batch);
      const runIds = await Promise.all(
        Array.from({ length: size }, () => triggerRun(gateway, 'multi-step', { delayMs: 50 })),
      );
      for (const events of await Promise.all(runIds.map((runId) => follow(gateway, runId)))) {
        expect(events.at(-1)?.runStatus).toBe('COMPLETED');
        for (const [step, text] of Object.entries(expected)) {
          const stream = streamOf(events, step);
          gaps += stream.gaps;
          if (stream.text === text) falseAlarms += stream.gaps;
          else expect(stream.gaps, `${step} lost chunks silently`).toBeGreaterThan(0);
        }
      }
    }
    expect(falseAlarms).toBe(0);
    if (patched) expect(gaps).toBe(0);
  });
});

describe('a counted stream whose tail the gateway never heard', () => {
  /**
   * Cuts the gateway's engine listener once it has delivered `keep` chunks of
   * the run the test names, and keeps it cut until the engine shows the run
   * finished: the rest of the stream, close frame included, is published
   * while nobody listens, and the engine keeps no history of it.
   */
  function cutListener(keep: number) {
    const cut = { runId: undefined as string | undefined, done: false };
    const wrap = (engine: RunSource & WorkflowGateway): RunSource & WorkflowGateway => ({
      ...engine,
      listen(target, signal) {
        return (async function* () {
          if (cut.done) {
            // the listener stays away until the run is over, as after a crash
            for (;;) {
              const run = cut.runId ? await engine.snapshot(cut.runId) : null;
              if (run?.status === 'COMPLETED' || signal.aborted) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }
          let seen = 0;
          for await (const event of engine.listen(target, signal)) {
            yield event;
            if (!cut.done && event.workflowRunId === cut.runId && event.eventType === 'STREAM' && ++seen >= keep) {
              cut.done = true;
              return;
            }
          }
        })();
      },
    });
    return { cut, wrap };
  }

  it("should announce the missing tail with its count, from the step's receipt, before the step's end", async () => {
    const { cut, wrap } = cutListener(6);
    const cutting = await startTestGateway({}, undefined, wrap);
    const text = `${'tail '.repeat(40)}end`;
    cut.runId = await triggerRun(cutting, 'stream-text', { text, chunkSize: 5, delayMs: 40 });
    const events = await follow(cutting, cut.runId);
    const stream = streamOf(events);
    expect(cut.done).toBe(true);
    expect(stream.runStatus).toBe('COMPLETED');
    expect(text.startsWith(stream.text)).toBe(true);
    expect(stream.text.length).toBeLessThan(text.length);
    expect(stream.uncounted).toBe(0);
    expect(stream.counted).toBeGreaterThan(0);
    expect(stream.chunks + stream.counted).toBe(chunkText(text, 5).length);
    // the gap comes before the step's terminal status
    const kinds = events.map((e) => (e.__typename === 'StepStatusEvent' ? e.status : e.__typename));
    expect(kinds.lastIndexOf('StreamGapEvent')).toBeLessThan(kinds.indexOf('COMPLETED'));
  });
});
