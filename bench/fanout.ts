/**
 * `npm run bench -- fanout`: one `bench-ticks` run (20 chunks/s for 10 s)
 * followed by N graphql-ws subscribers (N = 1, 100, 1000, 5000; FANOUT_N
 * overrides), each on its own socket, from a load generator in its own
 * process. Per N, a fresh gateway in its own process: delivery latency
 * (putStream to receipt) p50/p99, chunks lost, gateway CPU and RSS (idle per
 * subscriber, and peak), bytes per subscriber, and the gateway's engine
 * listeners (`hatchet_gateway_upstream_listeners`, polled from /metrics).
 * Env: FANOUT_N, FANOUT_RATE (chunks/s, 20), FANOUT_SECONDS (10),
 * BENCH_CPU_PROF=1 (V8 CPU profile of each gateway into bench/results/profiles/fanout-N<n>/).
 */

import { startBenchEngine } from './support/bench-engine.js';
import { startChildGateway } from './support/child-gateway.js';
import { startSubscribers } from './support/load-generator.js';
import { startPhase, waitForAtLeast } from './support/phase.js';
import { readMemory } from './support/proc-stats.js';
import { mib, waitForQuietMachine, writeResults } from './support/results.js';
import { shutdownBench } from './support/shutdown.js';
import { openGate, startTicksWorker } from './support/ticks-workflow.js';

const keepAlive = setInterval(() => {}, 1_000);
const levels = (process.env['FANOUT_N'] ?? '1,100,1000,5000').split(',').map(Number);
const rate = Number(process.env['FANOUT_RATE'] ?? 20);
const seconds = Number(process.env['FANOUT_SECONDS'] ?? 10);
const count = Math.round(rate * seconds);
const profile = process.env['BENCH_CPU_PROF'] === '1';

const quiet = await waitForQuietMachine();
const engine = await startBenchEngine();
const worker = await startTicksWorker(engine.connection.hatchet);

const rows: Array<Record<string, unknown>> = [];
const details: unknown[] = [];
for (const n of levels) {
  const profileDir = profile ? new URL(`./results/profiles/fanout-N${n}/`, import.meta.url).pathname : undefined;
  const gateway = await startChildGateway({
    env: { ...engine.clientEnv, LOG_LEVEL: 'warn' },
    ...(profileDir ? { cpuProfileDir: profileDir } : {}),
  });
  const metric = async (name: string) => (await gateway.metrics()).get(name) ?? 0;
  const gate = `fanout-${n}-${Date.now()}`;
  const runId = await gateway.trigger('bench-ticks', { count, intervalMs: 1000 / rate, gate });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const before = await readMemory(gateway.pid);

  const subscribers = startSubscribers({
    mode: 'ws',
    url: gateway.wsUrl,
    runId,
    count: n,
    expectedChunks: count,
    deadlineMs: seconds * 1000 + 240_000,
  });
  const opened = await subscribers.subscribed;
  const attached = await waitForAtLeast(() => metric('hatchet_gateway_subscribers'), n, 60_000);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const idle = await readMemory(gateway.pid);

  const phase = await startPhase({
    pid: gateway.pid,
    sidecarPid: engine.sidecarPid,
    gauge: () => metric('hatchet_gateway_upstream_listeners'),
  });
  openGate(gate);
  const result = await subscribers.result;
  const measured = await phase.stop();
  await subscribers.stop();
  await gateway.stop();

  const row = {
    subscribers: n,
    'p50 ms': result.latencyMs.p50,
    'p99 ms': result.latencyMs.p99,
    'max ms': result.latencyMs.max,
    lost: result.chunksLostTotal,
    'gaps said': result.missedChunksReported,
    'gw cores': measured.cores,
    'gw CPU µs/delivery': Math.round((measured.cpuSeconds * 1e6) / Math.max(1, result.latencyMs.count)),
    'gw RSS base MiB': mib(before.rssBytes),
    'idle KiB/sub': Math.round((idle.rssBytes - before.rssBytes) / n / 1024),
    'gw peak MiB': measured.peakRssMiB,
    'KiB/sub': Math.round(result.bytesPerSubscriber / 1024),
    'engine listeners': measured.gaugeMax,
    'engine cores': measured.engineCores,
    'loadgen lag p99 ms': result.loadGenerator.eventLoopLagP99Ms,
    'machine busy cores': measured.machineBusyCores,
  };
  rows.push(row);
  details.push({
    row,
    rate,
    chunks: count,
    subscribersAttached: attached,
    openSeconds: opened.openSeconds,
    gatewayRss: { beforeBytes: before.rssBytes, idleBytes: idle.rssBytes },
    delivery: measured,
    result,
  });
  console.table([row]);
}
console.table(rows);
const path = await writeResults('fanout', { rate, seconds, chunks: count, rows, details, quietMachine: quiet });
process.stderr.write(`wrote ${path}\n`);
clearInterval(keepAlive);
await shutdownBench({ worker, engine });
