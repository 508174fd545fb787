/**
 * Several gateway replicas sharing one Redis (REDIS_URL): a run is recorded by
 * exactly one of them, followed and resumed on any, and taken over when the
 * replica recording it dies.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exitOf, killGatewayProcesses, startGatewayProcess } from '../helpers/gateway-process.js';
import { RUN_EVENTS, type WireEvent } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  type GraphQLResponse,
  startTestGateway,
  type TestGateway,
  triggerRun,
  wsClient,
} from '../helpers/test-gateway.js';

/**
 * The replicas in this process hold leases of 3 s: a shorter one can expire
 * while a loaded test machine stalls this process's event loop, and another
 * replica then takes the run over for real (fencing keeps the log whole, but
 * the upstream counts below would see two recorders for a moment). The
 * process that gets killed holds 1 s leases, so the takeover comes soon.
 */
const LEASE_MS = '3000';
const DOOMED_LEASE_MS = '1000';
let redis: Record<string, string>;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  // a prefix per test file run: a reused Redis never mixes runs of another run of the suite
  redis = { REDIS_URL: inject('redisUrl'), REDIS_KEY_PREFIX: `test-${Date.now()}`, REDIS_LEASE_MS: LEASE_MS };
  a = await startTestGateway(redis);
  b = await startTestGateway(redis);
});
afterAll(async () => {
  await killGatewayProcesses();
  await disposeAll();
});

const events = (results: GraphQLResponse[]): WireEvent[] =>
  results.map((r) => {
    if (!r.data) throw new Error(`error result: ${JSON.stringify(r.errors)}`);
    return r.data['workflowRunEvents'] as WireEvent;
  });

const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
};

/** The text a stream-text run of `text` in `size`-character chunks streams, chunk by chunk. */
const chunksOf = (text: string, size: number) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('replicas sharing a Redis run log', () => {
  it('should let a run triggered on one replica be followed on another, with the same events and cursors', async () => {
    const text = 'replicated '.repeat(6);
    const runId = await triggerRun(a, 'stream-text', { text, chunkSize: 5, delayMs: 20 });
    const [onA, onB] = await Promise.all([
      collect(wsClient(a), RUN_EVENTS, { runId }),
      collect(wsClient(b), RUN_EVENTS, { runId }),
    ]);

    const seqA = events(onA);
    expect(events(onB)).toEqual(seqA);
    expect(seqA.at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
    const streamed = seqA.filter((e) => e.__typename === 'StreamChunkEvent').map((e) => e.data);
    expect(streamed.join('')).toBe(text);

    // a cursor from replica A resumes on replica B
    const middle = Math.floor(seqA.length / 2);
    const resumed = events(await collect(wsClient(b), RUN_EVENTS, { runId, after: seqA[middle - 1]?.cursor }));
    expect(resumed).toEqual(seqA.slice(middle));
  });

  it('should record a run on exactly one replica however many follow it on each', async () => {
    const listenersOf = async (name: string) => [await metric(a.url, name), await metric(b.url, name)];
    // the previous test's recorder lets go of its listener just after its run ended
    await expect.poll(() => listenersOf('hatchet_gateway_run_listeners'), { timeout: 10_000 }).toEqual([0, 0]);
    const [aBefore] = await listenersOf('hatchet_gateway_upstream_listeners');
    const runId = await triggerRun(b, 'stream-text', { text: 'one upstream '.repeat(20), chunkSize: 4, delayMs: 40 });
    const followers = [a, a, a, b, b, b].map((g) => collect(wsClient(g), RUN_EVENTS, { runId }));
    // wait until both replicas serve their followers, then look at the upstream counts
    await expect
      .poll(
        async () => [
          await metric(a.url, 'hatchet_gateway_subscribers'),
          await metric(b.url, 'hatchet_gateway_subscribers'),
        ],
        {
          timeout: 10_000,
        },
      )
      .toEqual([3, 3]);
    // B records it with its one listener for the runs it triggers; A only mirrors the shared log
    expect(await listenersOf('hatchet_gateway_run_listeners')).toEqual([0, 0]);
    expect(await listenersOf('hatchet_gateway_upstream_listeners')).toEqual([aBefore, 1]);
    const results = (await Promise.all(followers)).map(events);
    for (const sequence of results) expect(sequence).toEqual(results[0]);
  });

  it('should take over a run when the replica recording it is killed, and let its clients resume on another', async () => {
    const child = await startGatewayProcess({ ...redis, REDIS_LEASE_MS: DOOMED_LEASE_MS, LOG_LEVEL: 'error' });
    // 130 chunks 40 ms apart: the run outlasts the lease expiry plus B's takeover interval
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(10);
    const size = 2;
    const runId = await triggerRun({ url: child.url }, 'stream-text', { text, chunkSize: size, delayMs: 40 });

    // client 1 follows on the doomed replica until it dies, client 2 on replica B throughout
    const onB = collect(wsClient(b), RUN_EVENTS, { runId }, { timeoutMs: 60_000 });
    const beforeKill: WireEvent[] = [];
    const client1 = wsClient({ ...a, wsUrl: child.wsUrl });
    const killedAfter = 12;
    const dropped = new Promise<void>((resolve) => {
      client1.subscribe(
        { query: RUN_EVENTS, variables: { runId } },
        {
          next: (value) => {
            const event = (value.data as { workflowRunEvents: WireEvent } | undefined)?.workflowRunEvents;
            if (event) beforeKill.push(event);
            if (beforeKill.length === killedAfter) child.child.kill('SIGKILL');
          },
          error: () => resolve(),
          complete: () => resolve(),
        },
      );
    });
    await dropped;
    expect(await exitOf(child.child)).toBe('SIGKILL');
    expect(beforeKill.at(-1)?.__typename).not.toBe('RunStatusEvent');

    // client 1 resumes on B with its last cursor
    const afterKill = events(
      await collect(wsClient(b), RUN_EVENTS, { runId, after: beforeKill.at(-1)?.cursor }, { timeoutMs: 60_000 }),
    );
    const client1Sequence = [...beforeKill, ...afterKill];
    const client2Sequence = events(await onB);
    expect(client1Sequence).toEqual(client2Sequence);

    // statuses and outputs complete, once each, in order
    const sequence = client1Sequence;
    expect(sequence.filter((e) => e.__typename === 'StepStatusEvent').map((e) => e.status)).toEqual([
      'QUEUED',
      'STARTED',
      'COMPLETED',
    ]);
    expect(sequence.filter((e) => e.__typename === 'StepOutputEvent')).toHaveLength(1);
    expect(sequence.at(-1)).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
    expect(new Set(sequence.map((e) => e.cursor)).size).toBe(sequence.length);

    // chunks: in order, each the right slice of the text; what the takeover missed is a counted gap
    const expected = chunksOf(text, size);
    let index = 0;
    let missed = 0;
    for (const event of sequence) {
      if (event.__typename === 'StreamGapEvent') {
        expect(event.missedChunks).toBeGreaterThan(0);
        index += event.missedChunks ?? 0;
        missed += event.missedChunks ?? 0;
      } else if (event.__typename === 'StreamChunkEvent') {
        expect(event.data).toBe(expected[index]);
        index++;
      }
    }
    expect(index).toBe(expected.length);
    // the killed replica was the one recording (it triggered the run): the lease's expiry left a hole
    expect(missed).toBeGreaterThan(0);
    process.stderr.write(`takeover: ${missed} of ${expected.length} chunks missed while no replica listened\n`);
  });
});
