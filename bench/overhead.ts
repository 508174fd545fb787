/**
 * `npm run bench -- overhead`: what the gateway adds to a live stream. One
 * `bench-ticks` run streams 1,000 timestamped chunks (10 ms apart), received
 * at once by (a) the SDK's own listener (`hatchet.runs.subscribeToStream`),
 * (b) the gateway over graphql-ws and (c) the gateway over SSE (graphql-sse
 * client, distinct connections), all in this process, with the gateway in its
 * own. Latency is putStream to receipt per chunk; p50/p95/p99 per path, the
 * ratios b/a and c/a, the paired per-chunk difference, and chunks lost per path.
 * Env: OVERHEAD_CHUNKS (1000), OVERHEAD_INTERVAL_MS (10).
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startBenchEngine } from './support/bench-engine.js';
import { startChildGateway } from './support/child-gateway.js';
import { quantile, sortedCopy, summarize } from './support/percentiles.js';
import { startPhase, waitForAtLeast } from './support/phase.js';
import { waitForQuietMachine, writeResults } from './support/results.js';
import { shutdownBench } from './support/shutdown.js';
import { openGate, parseTick, startTicksWorker, wallClockMs } from './support/ticks-workflow.js';

const keepAlive = setInterval(() => {}, 1_000);
const chunks = Number(process.env['OVERHEAD_CHUNKS'] ?? 1000);
const intervalMs = Number(process.env['OVERHEAD_INTERVAL_MS'] ?? 10);
const FOLLOW =
  'subscription($id: ID!) { workflowRunEvents(runId: $id) { __typename ... on RunEvent { cursor } ... on StreamChunkEvent { data } } }';

type Path = 'a: SDK listener' | 'b: gateway graphql-ws' | 'c: gateway SSE';
/** Latency per chunk index, per path. */
const received = new Map<Path, Map<number, number>>();
function record(path: Path, data: string | undefined): void {
  const tick = data ? parseTick(data) : undefined;
  if (!tick) return;
  let byIndex = received.get(path);
  if (!byIndex) {
    byIndex = new Map();
    received.set(path, byIndex);
  }
  if (!byIndex.has(tick.index)) byIndex.set(tick.index, wallClockMs() - tick.sentAt);
}

const quiet = await waitForQuietMachine();
const engine = await startBenchEngine();
const worker = await startTicksWorker(engine.connection.hatchet);
const gateway = await startChildGateway({ env: { ...engine.clientEnv, LOG_LEVEL: 'warn' } });
const gate = `overhead-${Date.now()}`;
const runId = await gateway.trigger('bench-ticks', { count: chunks, intervalMs, gate });

type Event = { workflowRunEvents: { __typename: string; data?: string } };
const sdk = (async () => {
  for await (const chunk of engine.connection.hatchet.runs.subscribeToStream(runId)) record('a: SDK listener', chunk);
})();
const ws = createWsClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
const wsDone = new Promise<void>((resolve, reject) => {
  ws.subscribe<Event>(
    { query: FOLLOW, variables: { id: runId } },
    {
      next: (r) => record('b: gateway graphql-ws', r.data?.workflowRunEvents.data),
      error: reject,
      complete: resolve,
    },
  );
});
const sse = createSseClient({ url: gateway.url, singleConnection: false, retryAttempts: 0 });
const sseDone = new Promise<void>((resolve, reject) => {
  sse.subscribe<Event>(
    { query: FOLLOW, variables: { id: runId } },
    { next: (r) => record('c: gateway SSE', r.data?.workflowRunEvents.data), error: reject, complete: resolve },
  );
});
await waitForAtLeast(async () => (await gateway.metrics()).get('hatchet_gateway_subscribers') ?? 0, 2, 30_000);
// the SDK listener looks the run up first (retrying each second) before it subscribes
await new Promise((resolve) => setTimeout(resolve, 3_000));

const phase = await startPhase({ pid: gateway.pid, sidecarPid: engine.sidecarPid });
openGate(gate);
await Promise.all([sdk, wsDone, sseDone]);
const measured = await phase.stop();

const paths: Path[] = ['a: SDK listener', 'b: gateway graphql-ws', 'c: gateway SSE'];
const summaries = new Map(paths.map((p) => [p, summarize([...(received.get(p) ?? new Map()).values()])]));
const a = summaries.get('a: SDK listener');
/** Per chunk received on both paths: this path's latency minus the SDK listener's. */
function paired(path: Path) {
  const base = received.get('a: SDK listener') ?? new Map<number, number>();
  const diffs: number[] = [];
  for (const [index, latency] of received.get(path) ?? []) {
    const reference = base.get(index);
    if (reference !== undefined) diffs.push(latency - reference);
  }
  const sorted = sortedCopy(diffs);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { p50: r(quantile(sorted, 0.5)), p99: r(quantile(sorted, 0.99)), pairs: diffs.length };
}
const rows = paths.map((path) => {
  const s = summaries.get(path);
  const ratio = (key: 'p50' | 'p99') => (a && s ? Math.round((s[key] / a[key]) * 100) / 100 : null);
  const added = path === 'a: SDK listener' ? null : paired(path);
  return {
    path,
    received: s?.count ?? 0,
    lost: chunks - (s?.count ?? 0),
    'p50 ms': s?.p50,
    'p95 ms': s?.p95,
    'p99 ms': s?.p99,
    'max ms': s?.max,
    'p50 / a': ratio('p50'),
    'p99 - a p99 ms': a && s ? Math.round((s.p99 - a.p99) * 100) / 100 : null,
    'paired diff p50 ms': added?.p50 ?? null,
    'paired diff p99 ms': added?.p99 ?? null,
  };
});
console.table(rows);
const b = rows[1];
const targets = {
  'b/a p50 within 1.1x': (b?.['p50 / a'] ?? Number.POSITIVE_INFINITY) <= 1.1,
  'added p99 < 5 ms (b p99 - a p99)': (b?.['p99 - a p99 ms'] ?? Number.POSITIVE_INFINITY) < 5,
};
console.table(targets);
const path = await writeResults('overhead', {
  chunks,
  intervalMs,
  rows,
  targets,
  gatewayDuringStream: measured,
  quietMachine: quiet,
  latencies: Object.fromEntries(paths.map((p) => [p, [...(received.get(p) ?? new Map()).entries()]])),
});
process.stderr.write(`wrote ${path}\n`);

await ws.dispose();
sse.dispose();
await gateway.stop();
clearInterval(keepAlive);
await shutdownBench({ worker, engine });
