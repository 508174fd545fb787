/**
 * The run hub and recorder against a stub engine (pure plumbing: the real
 * engine's behaviour is covered by the integration tests). Each case is one
 * lifecycle rule a client relies on.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { EngineEvent, RunSnapshot } from '../../src/events/engine-event.js';
import { unsureReasons } from '../../src/events/run-tracker.js';
import type { FollowItem } from '../../src/runs/follow-run.js';
import { RunHub, type RunHubOptions } from '../../src/runs/run-hub.js';
import type { ListenTarget, RunSource } from '../../src/runs/run-source.js';

const RUN = '11111111-1111-4111-8111-111111111111';
const CHILD = '22222222-2222-4222-8222-222222222222';
const TASK = 'task-1';

const options: RunHubOptions = {
  reconcileIntervalMs: 20,
  settleMs: 0,
  lookupTimeoutMs: 2_000,
  nameWaitMs: 100,
  retentionMs: 60_000,
  logLimits: { maxEvents: 1_000, maxBytes: 10_000_000 },
  maxTotalBytes: 100_000_000,
  stopTimeoutMs: 200,
  orderedFinish: false,
  tap: { pendingMs: 1_000, maxPendingEvents: 100 },
};

function snapshot(status: RunSnapshot['status'], taskStatus: RunSnapshot['status']): RunSnapshot {
  return {
    runId: RUN,
    workflowName: 'wf',
    status,
    output: status === 'COMPLETED' ? { ok: true } : null,
    error: null,
    stepNames: { [TASK]: 'work' },
    tasks: [
      {
        taskId: TASK,
        name: 'work',
        status: taskStatus,
        output: taskStatus === 'COMPLETED' ? { ok: true } : null,
        error: null,
        attempt: 1,
        startedAt: null,
        finishedAt: null,
      },
    ],
  };
}

function chunk(runId: string, index: number, data: string, resourceId = TASK): EngineEvent {
  return {
    workflowRunId: runId,
    resourceType: 'STEP_RUN',
    eventType: 'STREAM',
    resourceId,
    timestamp: null,
    payload: data,
    hangup: false,
    retryCount: null,
    eventIndex: index,
  };
}

/** A stub engine: `events` are sent to the first listener, then it waits for its abort. */
function stubSource(state: { snapshot: () => Promise<RunSnapshot | null>; events?: EngineEvent[] }): RunSource {
  let sent = false;
  return {
    async *listen(_target: ListenTarget, signal: AbortSignal) {
      if (!sent) {
        sent = true;
        for (const e of state.events ?? []) yield e;
      }
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
    snapshot: () => state.snapshot(),
    streamReceipts: async () => [],
  };
}

async function drain(iterator: AsyncIterableIterator<FollowItem>): Promise<FollowItem[]> {
  const items: FollowItem[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

const quiet = pino({ level: 'silent' });

describe('RunHub with a stub engine', () => {
  it('should keep events of child runs, which share the correlation metadata, out of the run log', async () => {
    let done = false;
    const source = stubSource({
      snapshot: async () => (done ? snapshot('COMPLETED', 'COMPLETED') : snapshot('RUNNING', 'RUNNING')),
      events: [chunk(RUN, 0, 'mine'), chunk(CHILD, 0, 'child', 'child-task'), chunk(RUN, 1, 'mine too')],
    });
    const hub = new RunHub(source, options, quiet);
    const followed = hub.follow(RUN, undefined);
    setTimeout(() => {
      done = true;
    }, 100);
    const items = await drain(await followed);
    const data = items.flatMap((i) => ('data' in i ? [i.data] : []));
    expect(data).toEqual(['mine', 'mine too']);
    expect(items.at(-1)).toMatchObject({ kind: 'RunStatus', status: 'COMPLETED' });
    await hub.close();
  });

  it('should retry the run lookup after a passing engine error instead of dropping the run', async () => {
    let calls = 0;
    const source = stubSource({
      snapshot: async () => {
        calls++;
        if (calls === 1) throw new Error('engine hiccup');
        return snapshot('COMPLETED', 'COMPLETED');
      },
    });
    const hub = new RunHub(source, options, quiet);
    const items = await drain(await hub.follow(RUN, undefined));
    // a run recorded only after it finished: its chunks, if any, are gone, and the log says so
    expect(items.map((i) => i.kind)).toEqual([
      'StepStatus',
      'StepStatus',
      'StreamGap',
      'StepStatus',
      'StepOutput',
      'RunStatus',
    ]);
    expect(items[2]).toMatchObject({ kind: 'StreamGap', missedChunks: null, reason: unsureReasons.lateStart });
    expect(calls).toBeGreaterThan(1);
    await hub.close();
  });

  it('should end followers with SHUTTING_DOWN and finish close() even when the engine never answers', async () => {
    let first = true;
    const source = stubSource({
      snapshot: () => {
        if (first) {
          first = false;
          return Promise.resolve(snapshot('RUNNING', 'RUNNING'));
        }
        return new Promise<never>(() => {}); // an engine that accepts and never answers
      },
    });
    const hub = new RunHub(source, options, quiet);
    const follower = await hub.follow(RUN, undefined);
    const items = drain(follower);
    const started = Date.now();
    await hub.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const last = (await items).at(-1);
    expect(last).toMatchObject({ kind: 'Interrupted' });
    expect((last as { error: { code: string } }).error.code).toBe('SHUTTING_DOWN');
  });

  it('should count a subscriber from its first pull until it ends, and never one that is not pulled', async () => {
    const source = stubSource({ snapshot: async () => snapshot('COMPLETED', 'COMPLETED') });
    const hub = new RunHub(source, options, quiet);
    await hub.follow(RUN, undefined); // its client left before pulling
    expect(hub.stats().subscribers).toBe(0);
    const follower = await hub.follow(RUN, undefined);
    await follower.next();
    expect(hub.stats().subscribers).toBe(1);
    await follower.return?.();
    expect(hub.stats().subscribers).toBe(0);
    await hub.close();
  });
});
