/**
 * The runs benchmark's load generator, in its own process: one graphql-ws
 * client (one socket, `retryAttempts: 0`) per run in BENCH_RUNS (a JSON array
 * of `{ run, runId }`), each following its run's `workflowRunEvents` and
 * checking the `bench-runs` chunks it receives (`r<run>c<k>@<sent at>;`):
 * which arrived, duplicates, out of order, stray text, per-chunk latency
 * (receipt minus send time, one clock on this machine), the gaps the gateway
 * said (StreamGapEvent), the run's status and whether the subscription
 * completed. It only observes: it never retries or resumes a subscription.
 * Prints `{"subscribed": {...}}` once every socket is open and its
 * subscription sent, then `{"result": {...}}` once all completed (or
 * BENCH_DEADLINE_MS after that, when the others count as incomplete), and exits.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { FollowedRun } from '../support/run-followers.js';
import { wallClockMs } from '../support/ticks-workflow.js';

const url = process.env['BENCH_URL'] as string;
const runs = JSON.parse(process.env['BENCH_RUNS'] ?? '[]') as Array<{ run: number; runId: string }>;
const expected = Number(process.env['BENCH_CHUNKS'] ?? 0);
const deadlineMs = Number(process.env['BENCH_DEADLINE_MS'] ?? 300_000);
const openBatch = Number(process.env['BENCH_OPEN_BATCH'] ?? 50);

const FOLLOW =
  'subscription($id: ID!) { workflowRunEvents(runId: $id) { __typename ... on RunEvent { cursor } ... on StreamChunkEvent { data } ... on StreamGapEvent { missedChunks reason } ... on RunStatusEvent { runStatus: status } } }';

type WireEvent = {
  __typename: string;
  cursor?: string;
  data?: string;
  missedChunks?: number | null;
  reason?: string;
  runStatus?: string;
};

interface Follower {
  readonly result: FollowedRun;
  readonly seen: Set<number>;
  pending: string;
  lastIndex: number;
  done: boolean;
}

const PIECE = /^r(\d+)c(\d+)@(\d+(?:\.\d+)?);$/;

function onChunk(f: Follower, data: string, at: number): void {
  f.result.text += data;
  f.pending += data;
  for (let cut = f.pending.indexOf(';'); cut >= 0; cut = f.pending.indexOf(';')) {
    const piece = f.pending.slice(0, cut + 1);
    f.pending = f.pending.slice(cut + 1);
    const match = PIECE.exec(piece);
    if (!match || Number(match[1]) !== f.result.run) {
      f.result.strayChars += piece.length;
      continue;
    }
    const k = Number(match[2]);
    if (k >= expected) {
      f.result.strayChars += piece.length;
      continue;
    }
    if (f.seen.has(k)) {
      f.result.duplicates++;
      continue;
    }
    if (k < f.lastIndex) f.result.outOfOrder++;
    f.lastIndex = Math.max(f.lastIndex, k);
    f.seen.add(k);
    f.result.latencies.push(Math.round((at - Number(match[3])) * 100) / 100);
  }
}

function onEvent(f: Follower, event: WireEvent): void {
  const at = wallClockMs();
  if (f.result.status !== null) f.result.eventsAfterStatus++;
  switch (event.__typename) {
    case 'StreamChunkEvent':
      onChunk(f, event.data ?? '', at);
      break;
    case 'StreamGapEvent':
      f.result.gaps++;
      if (typeof event.missedChunks === 'number') f.result.missedChunks += event.missedChunks;
      else f.result.gapsUnknown++;
      if (f.result.gapReasons.length < 5) f.result.gapReasons.push(event.reason ?? '');
      break;
    case 'RunStatusEvent':
      if (f.result.status === null) {
        f.result.status = event.runStatus ?? 'UNKNOWN';
        f.result.statusAt = at;
      }
      break;
  }
}

let ended = 0;
let resolveAllEnded: () => void = () => {};
const allEnded = new Promise<void>((resolve) => {
  resolveAllEnded = resolve;
});
function end(f: Follower, error?: string): void {
  if (f.done) return;
  f.done = true;
  if (error) f.result.error = error;
  else f.result.completed = true;
  if (++ended === runs.length) resolveAllEnded();
}

function follow(f: Follower): Promise<void> {
  return new Promise((resolve) => {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      on: { connected: () => resolve() },
    });
    client.subscribe<{ workflowRunEvents: WireEvent }>(
      { query: FOLLOW, variables: { id: f.result.runId } },
      {
        next: (result) => {
          const event = result.data?.workflowRunEvents;
          if (event) onEvent(f, event);
          else if (result.errors) f.result.error = JSON.stringify(result.errors).slice(0, 300);
        },
        error: (error) => {
          end(f, error instanceof Error ? error.message : JSON.stringify(error).slice(0, 300));
          resolve();
          void client.dispose();
        },
        complete: () => {
          end(f);
          void client.dispose();
        },
      },
    );
  });
}

const followers: Follower[] = runs.map(({ run, runId }) => ({
  result: {
    run,
    runId,
    text: '',
    received: 0,
    missing: [],
    duplicates: 0,
    outOfOrder: 0,
    strayChars: 0,
    gaps: 0,
    missedChunks: 0,
    gapsUnknown: 0,
    gapReasons: [],
    status: null,
    statusAt: null,
    eventsAfterStatus: 0,
    completed: false,
    latencies: [],
  },
  seen: new Set(),
  pending: '',
  lastIndex: -1,
  done: false,
}));

const startedAt = Date.now();
for (let i = 0; i < followers.length; i += openBatch) {
  await Promise.all(followers.slice(i, i + openBatch).map(follow));
}
const openSeconds = (Date.now() - startedAt) / 1000;
process.stdout.write(`${JSON.stringify({ subscribed: { count: followers.length, openSeconds } })}\n`);
if (runs.length === 0) resolveAllEnded();

const timedOut = await Promise.race([
  allEnded.then(() => false),
  new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs)),
]);
const cpu = process.cpuUsage();
for (const f of followers) {
  f.result.received = f.seen.size;
  for (let k = 0; k < expected; k++) if (!f.seen.has(k)) f.result.missing.push(k);
  f.result.strayChars += f.pending.length;
  if (!f.done) f.result.error = f.result.error ?? 'deadline passed before the subscription completed';
}
const result = {
  timedOut,
  ended,
  runs: followers.map((f) => f.result),
  cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
};
process.stdout.write(`${JSON.stringify({ result })}\n`, () => process.exit(0));
