/**
 * The run tap against a stub engine listener (pure routing: the real engine's
 * behaviour is covered by the integration tests): one listener, each event to
 * its run, nothing lost between a trigger and its recorder, and every run's
 * stream ended when the engine ends the listener.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/events/engine-event.js';
import type { ListenTarget, RunSource } from '../../src/runs/run-source.js';
import { RunTap } from '../../src/runs/run-tap.js';

const A = 'run-a';
const B = 'run-b';

function chunk(runId: string, index: number, hangup = false): EngineEvent {
  return {
    workflowRunId: runId,
    resourceType: 'STEP_RUN',
    eventType: 'STREAM',
    resourceId: `${runId}-task`,
    timestamp: null,
    payload: `${runId}:${index}`,
    hangup,
    retryCount: null,
    eventIndex: index,
  };
}

/** An engine listener the test drives: push events, end it, count how often the tap listened. */
function drivenSource() {
  let push: ((event: EngineEvent | 'end') => void) | undefined;
  const targets: ListenTarget[] = [];
  let waiters: Array<() => void> = [];
  const attached = () => {
    for (const wake of waiters) wake();
    waiters = [];
  };
  const source: RunSource = {
    async *listen(target, signal) {
      targets.push(target);
      const queue: Array<EngineEvent | 'end'> = [];
      let wake: (() => void) | undefined;
      push = (item) => {
        queue.push(item);
        wake?.();
      };
      attached();
      signal.addEventListener('abort', () => push?.('end'), { once: true });
      for (;;) {
        const item = queue.shift();
        if (item === 'end') return;
        if (item) {
          yield item;
          continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    snapshot: async () => null,
    streamReceipts: async () => [],
  };
  return {
    source,
    targets,
    push: (item: EngineEvent | 'end') => push?.(item),
    /** Resolves at the next (re-)attachment. */
    nextAttach: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

async function take(stream: AsyncIterator<EngineEvent>, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const next = await stream.next();
    if (next.done) break;
    out.push(next.value.payload);
  }
  return out;
}

const options = { pendingMs: 60_000, maxPendingEvents: 100 };
const logger = pino({ level: 'silent' });

describe('RunTap', () => {
  it('should listen once, by its own metadata pair, for every run', async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, options);
    await tap.ready();
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal);
    const b = tap.listen(B, abort.signal);
    const reading = Promise.all([take(a, 2), take(b, 1)]);
    engine.push(chunk(A, 0));
    engine.push(chunk(B, 0));
    engine.push(chunk(A, 1));
    expect(await reading).toEqual([['run-a:0', 'run-a:1'], ['run-b:0']]);
    expect(engine.targets).toEqual([{ metadata: tap.metadata }]);
    expect(tap.upstreams).toBe(1);
    abort.abort();
    await tap.close();
    expect(tap.upstreams).toBe(0);
  });

  it("should keep a run's events that arrive before its recorder asks, and hand them over first", async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, options);
    await tap.ready();
    engine.push(chunk(A, 0));
    engine.push(chunk(A, 1));
    await new Promise((resolve) => setImmediate(resolve));
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal);
    const reading = take(a, 3);
    engine.push(chunk(A, 2));
    expect(await reading).toEqual(['run-a:0', 'run-a:1', 'run-a:2']);
    abort.abort();
    await tap.close();
  });

  it("should end every run's stream when the engine ends the listener, and listen again at once", async () => {
    const engine = drivenSource();
    const attachedFirst = engine.nextAttach();
    const tap = new RunTap(engine.source, logger, options);
    await attachedFirst;
    await tap.ready();
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal);
    const first = take(a, 5);
    engine.push(chunk(A, 0));
    const reattached = engine.nextAttach();
    engine.push('end');
    expect(await first).toEqual(['run-a:0']);
    await reattached;
    await tap.ready();
    const again = tap.listen(A, abort.signal);
    const second = take(again, 1);
    engine.push(chunk(A, 1));
    expect(await second).toEqual(['run-a:1']);
    expect(engine.targets).toHaveLength(2);
    abort.abort();
    await tap.close();
  });

  it("should not end a run's stream on a hangup flag: the listener's own end is what counts", async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, options);
    await tap.ready();
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal)[Symbol.asyncIterator]();
    const reading = (async () => {
      const events: EngineEvent[] = [];
      for (let i = 0; i < 2; i++) {
        const next = await a.next();
        if (!next.done) events.push(next.value);
      }
      return events;
    })();
    engine.push(chunk(A, 0, true));
    engine.push(chunk(A, 1));
    const events = await reading;
    expect(events.map((e) => [e.payload, e.hangup])).toEqual([
      ['run-a:0', false],
      ['run-a:1', false],
    ]);
    abort.abort();
    await tap.close();
  });

  it('should keep at most maxPendingEvents of runs nobody asked for, oldest run dropped first', async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, { pendingMs: 60_000, maxPendingEvents: 2 });
    await tap.ready();
    engine.push(chunk(A, 0));
    engine.push(chunk(B, 0));
    engine.push(chunk(B, 1));
    await new Promise((resolve) => setImmediate(resolve));
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal);
    const b = tap.listen(B, abort.signal);
    const reading = Promise.all([take(a, 1), take(b, 2)]);
    engine.push(chunk(A, 1));
    expect(await reading).toEqual([['run-a:1'], ['run-b:0', 'run-b:1']]);
    abort.abort();
    await tap.close();
  });

  it('should drop the late events of a run it was told to forget', async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, options);
    await tap.ready();
    tap.forget(A);
    engine.push(chunk(A, 9));
    await new Promise((resolve) => setImmediate(resolve));
    const abort = new AbortController();
    const a = tap.listen(A, abort.signal);
    const reading = take(a, 1);
    engine.push(chunk(A, 10));
    expect(await reading).toEqual(['run-a:10']);
    abort.abort();
    await tap.close();
  });

  it('should end open streams and refuse to wait once closed', async () => {
    const engine = drivenSource();
    const tap = new RunTap(engine.source, logger, options);
    await tap.ready();
    const a = tap.listen(A, new AbortController().signal);
    const reading = take(a, 1);
    await tap.close();
    expect(await reading).toEqual([]);
    await expect(tap.ready()).rejects.toThrow('closed');
  });
});
