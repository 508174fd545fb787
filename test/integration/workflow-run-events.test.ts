/**
 * The mission, end to end: trigger each example workflow through the gateway
 * and follow it over graphql-ws against the real engine, asserting what a
 * client sees on the wire.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultText } from '../../examples/workers/stream-text.js';
import { type AssembledFile, FileAssembler, type FileChunk } from '../../src/files/file-assembler.js';
import { RUN_EVENTS, TRIGGER, type WireEvent } from '../helpers/operations.js';
import { collect, disposeAll, startTestGateway, type TestGateway, wsClient, wsQuery } from '../helpers/test-gateway.js';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(disposeAll);

async function trigger(workflow: string, input: Record<string, unknown> = {}): Promise<string> {
  const result = await wsQuery<{ triggerWorkflow: { runId: string; workflow: string } }>(wsClient(gateway), TRIGGER, {
    workflow,
    input,
  });
  expect(result.errors).toBeUndefined();
  expect(result.data?.triggerWorkflow.workflow).toBe(workflow);
  return result.data?.triggerWorkflow.runId as string;
}

async function follow(runId: string, after?: string): Promise<WireEvent[]> {
  const results = await collect<{ workflowRunEvents: WireEvent }>(wsClient(gateway), RUN_EVENTS, { runId, after });
  for (const r of results) expect(r.errors).toBeUndefined();
  return results.map((r) => r.data?.workflowRunEvents as WireEvent);
}

/** Invariants every run's event sequence keeps, whatever the workflow. */
function expectWellFormed(events: WireEvent[], runId: string): void {
  expect(events.length).toBeGreaterThan(0);
  const terminal = events.filter((e) => e.__typename === 'RunStatusEvent');
  expect(terminal).toHaveLength(1);
  expect(events.at(-1)?.__typename).toBe('RunStatusEvent');
  expect(new Set(events.map((e) => e.cursor)).size).toBe(events.length);
  for (const e of events) {
    expect(e.runId).toBe(runId);
    expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    // a step name, never an id, where a name belongs
    if (e.stepName !== undefined) expect(e.stepName).not.toBe(e.stepId);
  }
  const rank: Record<string, number> = { QUEUED: 0, STARTED: 1, COMPLETED: 2, FAILED: 2, CANCELLED: 2, TIMED_OUT: 2 };
  const last = new Map<string, number>();
  for (const e of events.filter((x) => x.__typename === 'StepStatusEvent')) {
    const key = `${e.stepId}:${e.attempt}`;
    const r = rank[e.status as string] as number;
    if (!last.has(key)) expect(e.status).toBe('QUEUED'); // every attempt starts queued
    expect(r).toBeGreaterThan(last.get(key) ?? -1);
    if (r === 2 && e.status !== 'CANCELLED') expect(last.get(key)).toBe(1); // STARTED precedes it
    last.set(key, r);
  }
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

function statusesOf(events: WireEvent[], step: string): string[] {
  return events.filter((e) => e.__typename === 'StepStatusEvent' && e.stepName === step).map((e) => e.status as string);
}

describe('workflowRunEvents over graphql-ws', () => {
  it('should stream every chunk of stream-text in order, then its output and one terminal event', async () => {
    const runId = await trigger('stream-text', { delayMs: 20 });
    const events = await follow(runId);
    expectWellFormed(events, runId);

    const chunks = events.filter((e) => e.__typename === 'StreamChunkEvent');
    expect(chunks.map((c) => c.data).join('')).toBe(defaultText);
    expect(chunks.every((c) => c.stepName === 'stream')).toBe(true);
    expect(events.some((e) => e.__typename === 'StreamGapEvent')).toBe(false);
    expect(statusesOf(events, 'stream')).toEqual(['QUEUED', 'STARTED', 'COMPLETED']);

    const output = events.find((e) => e.__typename === 'StepOutputEvent');
    expect(output?.output).toEqual({ length: defaultText.length, chunks: chunks.length });
    const completedAt = events.findIndex((e) => e.__typename === 'StepStatusEvent' && e.status === 'COMPLETED');
    expect(events.indexOf(output as WireEvent)).toBe(completedAt + 1);
    expect(events.at(-1)).toMatchObject({
      runStatus: 'COMPLETED',
      output: { length: defaultText.length },
      error: null,
    });
  });

  it('should deliver the last chunk of a stream sent with no pause between chunks', async () => {
    const text = 'the last chunk must arrive';
    const runId = await trigger('stream-text', { text, chunkSize: 5, delayMs: 0 });
    const events = await follow(runId);
    expectWellFormed(events, runId);
    const chunks = events.filter((e) => e.__typename === 'StreamChunkEvent').map((e) => e.data);
    expect(chunks.join('')).toBe(text);
    expect(chunks.at(-1)).toBe('e');
  });

  it('should report the three multi-step steps in DAG order, each with its chunks and output', async () => {
    const runId = await trigger('multi-step', { delayMs: 50 });
    const events = await follow(runId);
    expectWellFormed(events, runId);
    const steps = ['fetch', 'transform', 'summarize'];
    for (const step of steps) expect(statusesOf(events, step)).toEqual(['QUEUED', 'STARTED', 'COMPLETED']);

    const completedIndex = (step: string) =>
      events.findIndex((e) => e.__typename === 'StepStatusEvent' && e.stepName === step && e.status === 'COMPLETED');
    const startedIndex = (step: string) =>
      events.findIndex((e) => e.__typename === 'StepStatusEvent' && e.stepName === step && e.status === 'STARTED');
    const story = events.map((e) => `${e.__typename}:${e.stepName ?? ''}:${e.status ?? e.data ?? ''}`).join('\n');
    expect(completedIndex('fetch'), story).toBeLessThan(startedIndex('transform'));
    expect(completedIndex('transform'), story).toBeLessThan(startedIndex('summarize'));

    const outputs = Object.fromEntries(
      events.filter((e) => e.__typename === 'StepOutputEvent').map((e) => [e.stepName, e.output]),
    );
    expect(outputs).toEqual({
      fetch: { records: ['alpha', 'beta', 'gamma', 'delta'] },
      transform: { records: ['ALPHA', 'BETA', 'GAMMA', 'DELTA'] },
      summarize: { summary: '4 records: ALPHA, BETA, GAMMA, DELTA', count: 4 },
    });
    const chunkSteps = new Set(events.filter((e) => e.__typename === 'StreamChunkEvent').map((e) => e.stepName));
    expect(chunkSteps).toEqual(new Set(steps));
    expect(events.at(-1)).toMatchObject({ runStatus: 'COMPLETED', output: { count: 4 } });
  });

  it('should end a failing run with the worker message and never its stack', async () => {
    const runId = await trigger('always-fails', { message: 'disk on fire' });
    const events = await follow(runId);
    expectWellFormed(events, runId);
    const failed = events.find((e) => e.__typename === 'StepStatusEvent' && e.status === 'FAILED');
    expect(failed).toMatchObject({ stepName: 'explode', error: 'explode failed: disk on fire', attempt: 1 });
    expect(events.at(-1)).toMatchObject({ runStatus: 'FAILED', output: null, error: 'explode failed: disk on fire' });
    expect(JSON.stringify(events)).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('should tag each attempt of a retried step, its statuses and its chunks', async () => {
    const runId = await trigger('retry-once');
    const events = await follow(runId);
    expectWellFormed(events, runId);
    const story = events
      .filter((e) => e.__typename !== 'RunStatusEvent')
      .map((e) => `${e.attempt}:${e.status ?? e.data ?? e.__typename}`);
    expect(story).toEqual([
      '1:QUEUED',
      '1:STARTED',
      '1:attempt 1 running\n',
      '1:FAILED',
      '2:QUEUED',
      '2:STARTED',
      '2:attempt 2 running\n',
      '2:COMPLETED',
      '2:StepOutputEvent',
    ]);
    expect(events.find((e) => e.status === 'FAILED')?.error).toBe('first attempt fails on purpose');
    expect(events.at(-1)).toMatchObject({ runStatus: 'COMPLETED', output: { attempt: 2 } });
  });

  it('should stream the stream-file PNG as file chunks that reassemble to the sha256 the step returned', async () => {
    const runId = await trigger('stream-file');
    const events = await follow(runId);
    expectWellFormed(events, runId);
    const chunks = events.filter((e) => e.__typename === 'FileChunkEvent');
    expect(chunks.length).toBeGreaterThan(0);
    const first = chunks[0] as WireEvent;
    expect(first).toMatchObject({ stepName: 'render', name: 'gradient.png', mimeType: 'image/png' });
    const gaps = JSON.stringify(events.filter((e) => e.__typename === 'StreamGapEvent'));
    expect(
      chunks.map((c) => c.index),
      gaps,
    ).toEqual([...Array(first.count).keys()]);
    // reassembled and verified by the client helper a browser app would use
    const assembler = new FileAssembler();
    let file: AssembledFile | undefined;
    for (const c of chunks) file = (await assembler.add(c as FileChunk)) ?? file;
    assembler.assertComplete();
    const bytes = Buffer.from((file as AssembledFile).bytes);
    expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
    const output = events.find((e) => e.__typename === 'StepOutputEvent')?.output as { sha256: string; size: number };
    expect(bytes.length).toBe(output.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(output.sha256);
    expect(first.sha256).toBe(output.sha256);
  });

  it('should replay a finished run to a late subscriber, identical to what the live subscriber saw', async () => {
    const runId = await trigger('multi-step', { delayMs: 10 });
    const live = await follow(runId);
    const started = Date.now();
    const late = await follow(runId);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(late).toEqual(live);
  });

  it('should resume after any cursor with exactly the events that followed it', async () => {
    const runId = await trigger('stream-text', { text: 'resume me from anywhere', chunkSize: 4, delayMs: 10 });
    const all = await follow(runId);
    for (let cut = 0; cut < all.length; cut++) {
      const rest = await follow(runId, all[cut]?.cursor);
      expect(rest).toEqual(all.slice(cut + 1));
    }
  });

  it('should reconcile statuses and outputs of a run triggered outside the gateway', async () => {
    const ref = await gateway.hatchet.admin.runWorkflow('multi-step', { delayMs: 10 });
    const runId = await ref.getWorkflowRunId();
    await ref.output; // finished before anyone subscribes
    const events = await follow(runId);
    expectWellFormed(events, runId);
    for (const step of ['fetch', 'transform', 'summarize']) {
      expect(statusesOf(events, step)).toEqual(['QUEUED', 'STARTED', 'COMPLETED']);
    }
    expect(events.filter((e) => e.__typename === 'StepOutputEvent').map((e) => e.stepName)).toEqual([
      'fetch',
      'transform',
      'summarize',
    ]);
    expect(events.at(-1)).toMatchObject({ runStatus: 'COMPLETED', output: { count: 4 } });
  });

  it('should share one engine listener among 50 subscribers of one run, as /metrics shows', async () => {
    const runId = await trigger('stream-text', { delayMs: 30 });
    const client = wsClient(gateway);
    const followers = Array.from({ length: 50 }, () =>
      collect<{ workflowRunEvents: WireEvent }>(client, RUN_EVENTS, { runId }),
    );
    await vi.waitUntil(() => gateway.runs.stats().subscribers === 50, { timeout: 10_000, interval: 10 });
    const metrics = await (await fetch(gateway.url.replace('/graphql', '/metrics'))).text();
    expect(metricValue(metrics, 'hatchet_gateway_subscribers')).toBe(50);
    expect(metricValue(metrics, 'hatchet_gateway_upstream_listeners')).toBe(1);

    const results = await Promise.all(followers);
    expectWellFormed(
      (results[0] ?? []).map((r) => r.data?.workflowRunEvents as WireEvent),
      runId,
    );
    const first = JSON.stringify(results[0]);
    for (const r of results) expect(JSON.stringify(r)).toBe(first);
    expect(gateway.runs.stats().subscribers).toBe(0);
    // the run holds no listener of its own once its log is complete; the process's one listener stays
    expect(gateway.runs.stats()).toMatchObject({ upstreams: 1, runListeners: 0 });
  });
});
