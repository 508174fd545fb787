/**
 * The load generator, in its own process: opens BENCH_SUBSCRIBERS
 * subscriptions to one run, each on its own connection, and measures every
 * `bench-ticks` chunk it receives (latency from the step's putStream to
 * receipt, chunks lost, bytes on the wire). Transports (BENCH_MODE):
 * - `ws`: the gateway over graphql-ws (BENCH_URL = ws://.../graphql);
 * - `sse`: the gateway over SSE, graphql-sse's distinct-connections mode (BENCH_URL = http://.../graphql);
 * - `proxy`: the streaming guide's proxy (BENCH_URL = http://.../stream).
 * Prints `{"subscribed": {...}}` once every subscription is open, then
 * `{"result": {...}}` once all ended (or BENCH_DEADLINE_MS passed), and exits.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { sketch, summarize } from '../support/percentiles.js';
import { parseTick, wallClockMs } from '../support/ticks-workflow.js';

const mode = process.env['BENCH_MODE'] ?? 'ws';
const url = process.env['BENCH_URL'] as string;
const runId = process.env['BENCH_RUN_ID'] as string;
const count = Number(process.env['BENCH_SUBSCRIBERS'] ?? 1);
const expected = Number(process.env['BENCH_EXPECTED_CHUNKS'] ?? 0);
const deadlineMs = Number(process.env['BENCH_DEADLINE_MS'] ?? 300_000);
const openBatch = Number(process.env['BENCH_OPEN_BATCH'] ?? 100);

export const FOLLOW =
  'subscription($id: ID!) { workflowRunEvents(runId: $id) { __typename ... on RunEvent { cursor } ... on StreamChunkEvent { data } ... on StreamGapEvent { missedChunks } ... on RunStatusEvent { status } } }';

type WireEvent = { __typename: string; data?: string; missedChunks?: number | null; status?: string };

interface Subscriber {
  bytes: number;
  chunks: number;
  seen: Set<number>;
  done: boolean;
  error?: string;
}

const latencies: number[] = [];
/** Events other than chunks, by type (and run status), over all subscribers; gaps the gateway reported. */
const otherEvents: Record<string, number> = {};
let missedChunksReported = 0;
function onOther(event: WireEvent): void {
  const key = event.__typename === 'RunStatusEvent' ? `RunStatusEvent ${event.status}` : event.__typename;
  otherEvents[key] = (otherEvents[key] ?? 0) + 1;
  if (event.__typename === 'StreamGapEvent') missedChunksReported += event.missedChunks ?? 0;
}
const subscribers: Subscriber[] = [];
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const cpuStart = process.cpuUsage();
const startedAt = Date.now();

function onChunk(sub: Subscriber, data: string): void {
  const tick = parseTick(data);
  if (!tick) return;
  latencies.push(wallClockMs() - tick.sentAt);
  sub.chunks++;
  sub.seen.add(tick.index);
}

let ended = 0;
let resolveAllEnded: () => void = () => {};
const allEnded = new Promise<void>((resolve) => {
  resolveAllEnded = resolve;
});
function end(sub: Subscriber, error?: string): void {
  if (sub.done) return;
  sub.done = true;
  if (error) sub.error = error;
  if (++ended === count) resolveAllEnded();
}

/** graphql-ws: one client (one socket) per subscriber; a ws subclass counts the bytes received. */
function openWs(sub: Subscriber): Promise<void> {
  class CountingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data: Buffer) => {
        sub.bytes += data.length;
      });
    }
  }
  return new Promise((resolve) => {
    const client = createClient({
      url,
      webSocketImpl: CountingWebSocket,
      retryAttempts: 0,
      lazy: true,
      on: { connected: () => resolve() },
    });
    client.subscribe<{ workflowRunEvents: WireEvent }>(
      { query: FOLLOW, variables: { id: runId } },
      {
        next: (result) => {
          const event = result.data?.workflowRunEvents;
          if (event?.__typename === 'StreamChunkEvent' && event.data) onChunk(sub, event.data);
          else if (event) onOther(event);
        },
        error: (error) => {
          end(sub, error instanceof Error ? error.message : JSON.stringify(error));
          resolve();
          void client.dispose();
        },
        complete: () => {
          end(sub);
          void client.dispose();
        },
      },
    );
  });
}

const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

/** SSE (gateway or proxy): one HTTP request per subscriber, `data:` lines parsed as they come. */
function openSse(sub: Subscriber): Promise<void> {
  return new Promise((resolve) => {
    const target = new URL(mode === 'proxy' ? `${url}/${runId}` : url);
    const body = mode === 'proxy' ? undefined : JSON.stringify({ query: FOLLOW, variables: { id: runId } });
    const req = request(
      target,
      {
        agent,
        method: body ? 'POST' : 'GET',
        headers: { accept: 'text/event-stream', ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        resolve();
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (text: string) => {
          sub.bytes += Buffer.byteLength(text);
          buffer += text;
          let cut = buffer.indexOf('\n\n');
          while (cut >= 0) {
            const message = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf('\n\n');
            const dataLine = message.split('\n').find((line) => line.startsWith('data:'));
            if (!dataLine || dataLine.length <= 6) continue;
            const payload = JSON.parse(dataLine.slice(5)) as {
              data?: { workflowRunEvents?: WireEvent };
              payload?: string;
            };
            const event = payload.data?.workflowRunEvents;
            const chunk = mode === 'proxy' ? payload.payload : event?.data;
            if (chunk) onChunk(sub, chunk);
            else if (event) onOther(event);
          }
        });
        res.on('end', () => end(sub));
        res.on('error', (error) => end(sub, error.message));
      },
    );
    req.on('error', (error) => {
      end(sub, error.message);
      resolve();
    });
    req.end(body);
  });
}

const open = mode === 'ws' ? openWs : openSse;
for (let i = 0; i < count; i += openBatch) {
  const batch: Array<Promise<void>> = [];
  for (let j = i; j < Math.min(count, i + openBatch); j++) {
    const sub: Subscriber = { bytes: 0, chunks: 0, seen: new Set(), done: false };
    subscribers.push(sub);
    batch.push(open(sub));
  }
  await Promise.all(batch);
}
const openSeconds = (Date.now() - startedAt) / 1000;
process.stdout.write(`${JSON.stringify({ subscribed: { count, openSeconds } })}\n`);
lag.reset();

const timedOut = await Promise.race([
  allEnded.then(() => false),
  new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs)),
]);
const cpu = process.cpuUsage(cpuStart);
const received = subscribers.map((s) => s.seen.size);
const bytes = subscribers.map((s) => s.bytes);
const errors = subscribers.filter((s) => s.error).map((s) => s.error);
const result = {
  mode,
  subscribers: count,
  timedOut,
  ended,
  errors: errors.length,
  firstError: errors[0],
  latencyMs: summarize(latencies),
  latencySketch: sketch(latencies),
  chunksExpectedPerSubscriber: expected,
  chunksReceivedMin: Math.min(...received),
  chunksReceivedMax: Math.max(...received),
  chunksLostTotal: expected ? received.reduce((lost, r) => lost + (expected - r), 0) : null,
  otherEvents,
  missedChunksReported,
  duplicates: subscribers.reduce((d, s) => d + (s.chunks - s.seen.size), 0),
  bytesPerSubscriber: Math.round(bytes.reduce((a, b) => a + b, 0) / Math.max(1, count)),
  loadGenerator: {
    cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
    eventLoopLagP99Ms: Math.round(lag.percentile(99) / 1e4) / 100,
    eventLoopLagMaxMs: Math.round(lag.max / 1e4) / 100,
  },
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
process.exit(0);
