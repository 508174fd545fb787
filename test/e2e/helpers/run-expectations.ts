/**
 * What a client app must observe of a followed run, whatever the client and
 * transport: the run's recorded log exactly once (checked against a fresh
 * replay over another connection), cursors that only move forward, one
 * RunStatusEvent, last, and the story of the example workflow it ran.
 */
import { expect } from 'vitest';
import { decodeCursor } from '../../../src/runs/cursor.js';
import { RUN_EVENTS, type WireEvent } from '../../helpers/operations.js';
import { collect, type TestGateway, wsClient } from '../../helpers/test-gateway.js';

/** The fields the examples select that the checks read; each example's own event type is assignable to it. */
export interface SeenEvent {
  __typename: string;
  cursor: string;
  runId: string;
  stepName?: string;
  status?: string;
  runStatus?: string;
  data?: string;
}

export interface SeenRun {
  runId: string;
  events: SeenEvent[];
  connections: number;
}

/** 57 characters: 15 chunks of 4, 30 ms apart, so a drop after 5 events falls mid-stream. */
export const STREAM_TEXT = 'The quick brown fox jumps over the lazy dog, then naps ☀.';
export const STREAM_INPUT = { text: STREAM_TEXT, chunkSize: 4, delayMs: 30 };
export const MULTI_STEP_INPUT = { delayMs: 50 };

/** What each multi-step step streams, in order (examples/workers/multi-step.ts). */
const MULTI_STEP_CHUNKS: Record<string, string[]> = {
  fetch: ['fetch: downloading records\n', 'fetch: got 4 records\n'],
  transform: ['transform: upper-casing records\n', 'transform: 4 records done\n'],
  summarize: ['summarize: writing summary\n', 'summarize: 4 records: ALPHA, BETA, GAMMA, DELTA\n'],
};

const chunksOf = (events: SeenEvent[], stepName?: string): string[] =>
  events
    .filter((e) => e.__typename === 'StreamChunkEvent' && (stepName === undefined || e.stepName === stepName))
    .map((e) => e.data ?? '');

/**
 * Checks that the run ends with exactly one RunStatusEvent, COMPLETED; that its
 * cursors strictly increase within one recording; and that the client saw the
 * run's whole log, no event missing or twice, by replaying the finished run
 * (with `credential`, an API key with the read scope, when the gateway wants one).
 */
async function expectWholeLog(gateway: TestGateway, { runId, events }: SeenRun, credential?: string): Promise<void> {
  expect(events.filter((e) => e.__typename === 'RunStatusEvent')).toHaveLength(1);
  expect(events.at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
  expect(new Set(events.map((e) => e.runId))).toEqual(new Set([runId]));

  const positions = events.map((e) => decodeCursor(e.cursor));
  expect(new Set(positions.map((p) => p?.epoch)).size, 'cursors of one recording').toBe(1);
  positions.slice(1).forEach((position, i) => {
    expect(position?.seq, `cursor ${i + 1} after cursor ${i}`).toBeGreaterThan(positions[i]?.seq ?? Infinity);
  });

  const replayClient = wsClient(
    gateway,
    credential ? { connectionParams: { authorization: `Bearer ${credential}` } } : {},
  );
  const replay = await collect<{ workflowRunEvents: WireEvent }>(replayClient, RUN_EVENTS, { runId });
  const logged = replay.map((r) => r.data?.workflowRunEvents);
  expect(events.map((e) => `${e.__typename} ${e.cursor}`)).toEqual(logged.map((e) => `${e?.__typename} ${e?.cursor}`));
  await expect.poll(() => gateway.runs.stats().subscribers, { timeout: 5_000 }).toBe(0);
}

/** `stream-text` with STREAM_INPUT, followed across one dropped connection. */
export async function expectStreamTextRun(gateway: TestGateway, run: SeenRun): Promise<void> {
  expect(run.connections).toBe(2);
  expect(run.events.map((e) => e.__typename)).toEqual([
    'StepStatusEvent',
    'StepStatusEvent',
    ...Array<string>(Math.ceil(Array.from(STREAM_TEXT).length / STREAM_INPUT.chunkSize)).fill('StreamChunkEvent'),
    'StepStatusEvent',
    'StepOutputEvent',
    'RunStatusEvent',
  ]);
  expect(run.events.filter((e) => e.__typename === 'StepStatusEvent').map((e) => e.status)).toEqual([
    'QUEUED',
    'STARTED',
    'COMPLETED',
  ]);
  expect(chunksOf(run.events).join('')).toBe(STREAM_TEXT);
  await expectWholeLog(gateway, run);
}

/**
 * `multi-step` with MULTI_STEP_INPUT, followed across one dropped connection:
 * each step QUEUED, STARTED, COMPLETED and its output, a step started only
 * after its parent completed (the next step may be QUEUED before that), then
 * the run's status; each step's chunks in the order it sent them, once. The
 * engine loses stream messages now and then, which no client can restore
 * (measured here: the first step's whole stream, in 1 of 30 runs with delayMs
 * 200, 3 of 30 with 50): a lost chunk may be absent (or announced by a
 * StreamGapEvent), never reordered or repeated.
 */
export async function expectMultiStepRun(gateway: TestGateway, run: SeenRun): Promise<void> {
  expect(run.connections).toBe(2);
  const steps = Object.keys(MULTI_STEP_CHUNKS);
  const statusAt = (step: string | undefined, status: string) =>
    run.events.findIndex((e) => e.__typename === 'StepStatusEvent' && e.stepName === step && e.status === status);
  for (const [i, step] of steps.entries()) {
    const story = run.events
      .filter((e) => e.stepName === step && e.__typename !== 'StreamChunkEvent' && e.__typename !== 'StreamGapEvent')
      .map((e) => `${e.__typename} ${e.status ?? ''}`.trim());
    expect(story, `${step}'s statuses and output`).toEqual([
      'StepStatusEvent QUEUED',
      'StepStatusEvent STARTED',
      'StepStatusEvent COMPLETED',
      'StepOutputEvent',
    ]);
    if (i > 0)
      expect(statusAt(steps[i - 1], 'COMPLETED'), `${step} after its parent`).toBeLessThan(statusAt(step, 'STARTED'));
    const seen = chunksOf(run.events, step);
    expect(seen, `${step}'s chunks`).toEqual((MULTI_STEP_CHUNKS[step] ?? []).filter((chunk) => seen.includes(chunk)));
  }
  await expectWholeLog(gateway, run);
}

/** The API key of SHORT_TOKENS_GATEWAY (scopes trigger and read). */
export const API_KEY = 'e2e-app-key-0123456789abcdef';
/** `startTestGateway` settings: authentication on, run tokens that live 2 s (1 s to 2 s: JWT expiries are whole seconds). */
export const SHORT_TOKENS_GATEWAY = { GATEWAY_API_KEYS: `app:${API_KEY}:trigger+read`, RUN_TOKEN_TTL_MS: '2000' };

/**
 * A `stream-text` run of LONG_RUN_INPUT on a gateway whose run tokens live
 * 2 s: at least `LONG_RUN_RENEWALS` of them expire before it ends.
 */
export const LONG_RUN_TEXT =
  'A run token lives two seconds here, and this run streams for about five: the follower must mint a fresh ' +
  'token each time the gateway ends its subscription with TOKEN_EXPIRED, then resume after its last cursor.';
/** 52 chunks, 100 ms apart: over 5 s of streaming after the trigger. */
export const LONG_RUN_INPUT = { text: LONG_RUN_TEXT, chunkSize: 4, delayMs: 100 };
/** A token lives at most 2 s from its trigger or renewal, so 5 s of streaming outlive at least two. */
export const LONG_RUN_RENEWALS = 2;

/**
 * `stream-text` with LONG_RUN_INPUT, followed with run tokens that expired
 * `renewals` times: the whole text exactly once, the run's whole log, and one
 * more connection per renewal.
 */
export async function expectRenewedStreamTextRun(
  gateway: TestGateway,
  run: SeenRun,
  renewals: number,
  apiKey: string,
): Promise<void> {
  expect(renewals).toBeGreaterThanOrEqual(LONG_RUN_RENEWALS);
  expect(run.connections).toBe(1 + renewals);
  expect(chunksOf(run.events).join('')).toBe(LONG_RUN_TEXT);
  expect(run.events.filter((e) => e.__typename === 'StepStatusEvent').map((e) => e.status)).toEqual([
    'QUEUED',
    'STARTED',
    'COMPLETED',
  ]);
  await expectWholeLog(gateway, run, apiKey);
}

/**
 * What an example's command line prints for LONG_RUN_INPUT on
 * SHORT_TOKENS_GATEWAY: a resume line per renewed token, the text exactly
 * once, the run completed, and one connection per token.
 */
export function expectRenewedStreamTextOutput(stdout: string): void {
  const lines = stdout.trimEnd().split('\n');
  const resumes = lines.filter((line) => line.startsWith('-- '));
  expect(resumes.length).toBeGreaterThanOrEqual(LONG_RUN_RENEWALS);
  for (const line of resumes) expect(line).toMatch(/^-- token renewed; resuming after (c1\.\S+|the start)$/);
  const text = lines
    .filter((line) => line.startsWith('[stream] "'))
    .map((line) => JSON.parse(line.slice('[stream] '.length)) as string)
    .join('');
  expect(text).toBe(LONG_RUN_TEXT);
  expect(lines.at(-2)).toMatch(/^run COMPLETED \{/);
  expect(lines.at(-2)).toContain(`"length":${LONG_RUN_TEXT.length}`);
  expect(lines.at(-1)).toMatch(new RegExp(`^run \\S+: \\d+ events over ${resumes.length + 1} connection\\(s\\)$`));
}
