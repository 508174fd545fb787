/**
 * `npm run bench -- throughput`: how many events per second one gateway
 * process delivers to 100 graphql-ws subscribers (load generator in its own
 * process) before delivery p99 passes 100 ms. Steps the emit rate of a
 * `bench-ticks` run up (one run per step, 5 s each) and stops after the first
 * step over the limit. Per step: p50/p99, chunks lost, delivered events/s,
 * gateway cores, and, for reference, the p99 of one direct SDK listener on the
 * same run (what the engine alone gives, in this process).
 * Env: THROUGHPUT_RATES (20,50,100,200,300,500,700,1000 chunks/s),
 * THROUGHPUT_SUBSCRIBERS (100), THROUGHPUT_SECONDS (5), THROUGHPUT_P99_MS (100),
 * BENCH_CPU_PROF=1 (V8 CPU profile of the gateway into bench/results/profiles/throughput/).
 */
import { startBenchEngine } from './support/bench-engine.js';
import { startChildGateway } from './support/child-gateway.js';
import { startSubscribers } from './support/load-generator.js';
import { summarize } from './support/percentiles.js';
import { startPhase, waitForAtLeast } from './support/phase.js';
import { waitForQuietMachine, writeResults } from './support/results.js';
import { shutdownBench } from './support/shutdown.js';
import { openGate, parseTick, startTicksWorker, wallClockMs } from './support/ticks-workflow.js';

const keepAlive = setInterval(() => {}, 1_000);
const rates = (process.env['THROUGHPUT_RATES'] ?? '20,50,100,200,300,500,700,1000').split(',').map(Number);
const n = Number(process.env['THROUGHPUT_SUBSCRIBERS'] ?? 100);
const seconds = Number(process.env['THROUGHPUT_SECONDS'] ?? 5);
const limitMs = Number(process.env['THROUGHPUT_P99_MS'] ?? 100);
const profileDir =
  process.env['BENCH_CPU_PROF'] === '1'
    ? new URL('./results/profiles/throughput/', import.meta.url).pathname
    : undefined;

const quiet = await waitForQuietMachine();
const engine = await startBenchEngine();
const worker = await startTicksWorker(engine.connection.hatchet);
const gateway = await startChildGateway({
  env: { ...engine.clientEnv, LOG_LEVEL: 'warn' },
  ...(profileDir ? { cpuProfileDir: profileDir } : {}),
});
const metric = async (name: string) => (await gateway.metrics()).get(name) ?? 0;

const rows: Array<Record<string, unknown>> = [];
const details: unknown[] = [];
let ceiling: number | null = null;
for (const rate of rates) {
  const count = Math.max(50, Math.round(rate * seconds));
  const gate = `throughput-${rate}-${Date.now()}`;
  const runId = await gateway.trigger('bench-ticks', { count, intervalMs: 1000 / rate, gate });
  const subscribers = startSubscribers({
    mode: 'ws',
    url: gateway.wsUrl,
    runId,
    count: n,
    expectedChunks: count,
    deadlineMs: seconds * 1000 + 180_000,
  });
  const direct: number[] = [];
  const reference = (async () => {
    for await (const chunk of engine.connection.hatchet.runs.subscribeToStream(runId)) {
      const tick = parseTick(chunk);
      if (tick) direct.push(wallClockMs() - tick.sentAt);
    }
  })();
  await subscribers.subscribed;
  await waitForAtLeast(() => metric('hatchet_gateway_subscribers'), n, 60_000);
  // the SDK listener looks the run up first (retrying each second) before it subscribes
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const phase = await startPhase({
    pid: gateway.pid,
    sidecarPid: engine.sidecarPid,
    gauge: () => metric('hatchet_gateway_upstream_listeners'),
  });
  openGate(gate);
  const result = await subscribers.result;
  const measured = await phase.stop();
  await subscribers.stop();
  await Promise.race([reference, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  const sdk = summarize(direct);
  const delivered = result.latencyMs.count;
  // the emit window: from the first chunk to the last, at the scheduled rate
  const emitSeconds = count / rate;
  const row = {
    'rate /s': rate,
    subscribers: n,
    'delivered events/s': Math.round(delivered / emitSeconds),
    'p50 ms': result.latencyMs.p50,
    'p99 ms': result.latencyMs.p99,
    'max ms': result.latencyMs.max,
    'SDK p99 ms': sdk.p99,
    lost: result.chunksLostTotal,
    'gw cores': measured.cores,
    'gw CPU µs/delivery': Math.round((measured.cpuSeconds * 1e6) / Math.max(1, delivered)),
    'engine listeners': measured.gaugeMax,
    'loadgen cpu s': result.loadGenerator.cpuSeconds,
    'machine busy cores': measured.machineBusyCores,
  };
  rows.push(row);
  details.push({ row, chunks: count, delivery: measured, result, sdkListener: sdk });
  console.table([row]);
  if (result.latencyMs.p99 > limitMs) break;
  ceiling = rate;
}
console.table(rows);
const best = rows.find((r) => r['rate /s'] === ceiling);
process.stdout.write(
  ceiling === null
    ? `p99 passed ${limitMs} ms already at ${rates[0]} chunks/s\n`
    : `ceiling: ${ceiling} chunks/s x ${n} subscribers = ${best?.['delivered events/s']} events/s delivered with p99 <= ${limitMs} ms\n`,
);
const path = await writeResults('throughput', {
  subscribers: n,
  secondsPerStep: seconds,
  p99LimitMs: limitMs,
  ceilingRate: ceiling,
  ceilingDeliveredPerSecond: best?.['delivered events/s'] ?? null,
  rows,
  details,
  quietMachine: quiet,
});
process.stderr.write(`wrote ${path}\n`);
await gateway.stop();
clearInterval(keepAlive);
await shutdownBench({ worker, engine });
