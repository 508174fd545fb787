/**
 * Fault: the engine dies mid-run (SIGKILL of the embedded sidecar; its Postgres
 * follows) and is started again on the same data folder and ports, on an
 * engine of this file's own (the shared engine of the global setup is never
 * touched), with the example worker and a gateway on it.
 *
 * What the gateway does, as observed here (engine v0.105.0, SDK 1.33.2):
 * - Open subscriptions get no error: they keep waiting (the run's recorder
 *   re-attaches its listener and retries REST until the engine answers), then
 *   continue on the same subscription once it is back. No step status or output
 *   is lost (REST is reconciled after the restart); stream chunks the worker
 *   sent while the engine was down are reported by StreamGapEvents that count
 *   them. The worker's SDK retries a failed putStream for about 12.7 s, so
 *   after a short outage some late chunks still arrive, in order, between gaps
 *   (measured: sidecar back in about 0.6 s, run followed to its end about 7 s
 *   after the kill, 67 to 70 of 78 chunks received, the rest counted in 2 gaps).
 * - A client that joins a run the gateway is recording while the engine is
 *   down is served from the run log at once, and follows it to the end too.
 * - What needs the engine meanwhile answers ENGINE_UNAVAILABLE: a subscription
 *   to a run the gateway does not hold (after RUN_LOOKUP_TIMEOUT_MS), the
 *   workflowRun query, and triggerWorkflow (at once when its workflow check
 *   reaches REST; after the SDK's own gRPC retries, about 13 s, when the
 *   workflow list is cached); /readyz says 503. Once the engine is back, a
 *   client that subscribes again gets that run's statuses and output.
 * - Nothing needs reconnecting by hand: the restarted sidecar mints a new token
 *   but keeps its keys in its database, so the token of the first start stays
 *   valid, and gRPC and REST find the same ports again.
 * Engine-side, not the gateway's: after the restart the engine schedules no new
 * task for about 60 s (measured 61 s, with the old worker or a new one; runs
 * triggered then stay QUEUED and their followers wait), while tasks already
 * assigned finish normally; and a worker whose completion event cannot reach
 * the engine within the SDK's 12.7 s of retries was seen to have its step end FAILED. So the
 * runs here are triggered before the kill, and the outage is kept short.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleWorker, startExampleWorker } from '../../examples/workers/worker.js';
import { type DedicatedEngine, startDedicatedEngine, until } from '../helpers/faults/dedicated-engine.js';
import { followRun } from '../helpers/faults/raw-ws.js';
import { checkStreamTextRun } from '../helpers/faults/sequences.js';
import { TRIGGER, type WireEvent } from '../helpers/operations.js';
import { disposeAll, httpGraphQL, startTestGateway, type TestGateway, triggerRun } from '../helpers/test-gateway.js';

const LOOKUP_TIMEOUT_MS = 3_000;

let engine: DedicatedEngine;
let worker: ExampleWorker | undefined;
let gateway: TestGateway;
/** A finished run the gateway never saw, triggered before any restart (see the module comment). */
let unheldRunId: string;

beforeAll(async () => {
  engine = await startDedicatedEngine();
  // the worker has a client of its own, as a worker process would
  worker = await startExampleWorker(engine.client(), 'faults-engine-restart');
  gateway = await startTestGateway({ RUN_LOOKUP_TIMEOUT_MS: String(LOOKUP_TIMEOUT_MS) }, engine.client());
  const hatchet = engine.client();
  const ref = await hatchet.admin.runWorkflow('stream-text', { text: 'elsewhere', chunkSize: 3, delayMs: 0 }, {});
  unheldRunId = await ref.getWorkflowRunId();
  await until(
    async () => (await hatchet.runs.get(unheldRunId).catch(() => undefined))?.run.status === 'COMPLETED',
    30_000,
    'the unheld run to complete',
  );
});
afterAll(async () => {
  try {
    await disposeAll();
    await worker?.stop();
  } finally {
    await engine?.stop();
  }
});

const readyz = async () => (await fetch(gateway.url.replace(/\/graphql$/, '/readyz'))).status;

describe('the engine killed mid-run and restarted on the same data and ports', () => {
  it('should keep open subscriptions waiting, then finish them with every status and output and a counted gap for lost chunks', async () => {
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(6);
    const chunkSize = 2;
    // 78 chunks 100 ms apart: the step outlives the outage and streams on after it
    const runId = await triggerRun(gateway, 'stream-text', { text, chunkSize, delayMs: 100 });

    let reachedKillPoint: () => void = () => {};
    const killPoint = new Promise<void>((resolve) => {
      reachedKillPoint = resolve;
    });
    const chunksOf = (events: WireEvent[]) => events.filter((e) => e.__typename === 'StreamChunkEvent').length;
    const throughout = followRun(gateway.wsUrl, runId, {
      onEvent: (_event, follow) => {
        if (chunksOf(follow.events) === 10) reachedKillPoint();
      },
    });
    await killPoint;

    await engine.kill();
    const outage = Date.now();
    expect(await readyz()).toBe(503);
    // a client joining while the engine is down is served from the run log
    const joinedDuringOutage = followRun(gateway.wsUrl, runId);
    await until(() => joinedDuringOutage.events.length >= 12, 10_000, 'the late joiner to replay the log');
    const restartMs = await engine.restart();
    const erroredDuringOutage = [...throughout.errors];

    const [end, lateEnd] = await Promise.all([throughout.ended, joinedDuringOutage.ended]);
    const backAfter = Date.now() - outage;
    expect(erroredDuringOutage).toEqual([]);
    expect(end).toEqual({ how: 'complete' });
    expect(throughout.errors).toEqual([]);
    const check = checkStreamTextRun(throughout.events, text, chunkSize);
    expect(lateEnd).toEqual({ how: 'complete' });
    expect(joinedDuringOutage.events).toEqual(throughout.events);

    // the same from the log afterwards, and the engine agrees on the outcome
    const replay = followRun(gateway.wsUrl, runId);
    expect(await replay.ended).toEqual({ how: 'complete' });
    expect(replay.events).toEqual(throughout.events);
    expect(await readyz()).toBe(200);
    process.stderr.write(
      `engine restart: sidecar restarted in ${restartMs} ms; run followed to its end ${backAfter} ms after the kill; ` +
        `${check.received} of ${check.expected} chunks received, ${check.missed} reported missing in ${check.gaps} gap(s); ` +
        `statuses and output complete; errors during the outage: ${erroredDuringOutage.length}\n`,
    );
  }, 90_000);

  it('should answer ENGINE_UNAVAILABLE to what needs the engine while it is down, and the complete run once it is back', async () => {
    const runId = unheldRunId;
    await engine.kill();
    const started = Date.now();
    const [subscription, query, trigger] = await Promise.all([
      (async () => {
        const follow = followRun(gateway.wsUrl, runId);
        return { end: await follow.ended, events: follow.events, errors: follow.errors, after: Date.now() - started };
      })(),
      httpGraphQL(gateway, 'query($id: ID!) { workflowRun(id: $id) { status } }', { id: runId }),
      (async () => {
        const answer = await httpGraphQL(gateway, TRIGGER, { workflow: 'stream-text', input: { text: 'x' } });
        return { ...answer, after: Date.now() - started };
      })(),
    ]);
    expect(await readyz()).toBe(503);
    const code = (errors: Array<{ extensions?: { code?: string } }> | undefined) =>
      errors?.map((e) => e.extensions?.code);
    expect(subscription.events).toEqual([]);
    expect(code(subscription.errors)).toEqual(['ENGINE_UNAVAILABLE']);
    expect(subscription.end.how).not.toBe('closed');
    expect(code(query.body.errors)).toEqual(['ENGINE_UNAVAILABLE']);
    expect(code(trigger.body.errors)).toEqual(['ENGINE_UNAVAILABLE']);
    expect(JSON.stringify([subscription, query.body, trigger.body])).not.toContain('ECONNREFUSED');

    await engine.restart();
    const again = followRun(gateway.wsUrl, runId);
    expect(await again.ended).toEqual({ how: 'complete' });
    // reconciled from the engine: every status and the output; the chunks nobody recorded are
    // said missing, counted from the step's receipt (the worker kit wrote it to the task's log)
    const gaps = again.events.filter((e) => e.__typename === 'StreamGapEvent');
    expect(gaps.map((gap) => gap.missedChunks)).toEqual([3]);
    expect(
      again.events
        .filter((e) => e.__typename !== 'StreamGapEvent')
        .map((e) => [e.__typename, e.status ?? e.runStatus ?? null]),
    ).toEqual([
      ['StepStatusEvent', 'QUEUED'],
      ['StepStatusEvent', 'STARTED'],
      ['StepStatusEvent', 'COMPLETED'],
      ['StepOutputEvent', null],
      ['RunStatusEvent', 'COMPLETED'],
    ]);
    expect(again.events.find((e) => e.__typename === 'StepOutputEvent')?.output).toEqual({ length: 9, chunks: 3 });
    process.stderr.write(
      `engine down: subscription to an unheld run ended after ${subscription.after} ms, triggerWorkflow answered after ${trigger.after} ms\n`,
    );
  }, 90_000);
});
