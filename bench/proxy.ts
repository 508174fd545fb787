/**
 * `npm run bench -- proxy`: the hand-written proxy of Hatchet's streaming
 * guide (bench/processes/guide-proxy.ts: one engine listener per client)
 * against the gateway (one listener per run), both over SSE, both in their own
 * process, at the same N (1, 100, 1000, 5000; PROXY_N overrides), following a
 * `bench-ticks` run (20 chunks/s for 10 s) from a load generator in its own
 * process: engine listeners, delivery p50/p99, chunks lost, server RSS (idle
 * per client, peak), server CPU and the engine sidecar's CPU.
 * Env: PROXY_N, PROXY_TARGETS (proxy,gateway), FANOUT_RATE (20), FANOUT_SECONDS (10).
 */
import { startBenchEngine } from './support/bench-engine.js';
import { startChildGateway } from './support/child-gateway.js';
import { type BenchChild, spawnBenchProcess } from './support/child-process.js';
import { startSubscribers } from './support/load-generator.js';
import { startPhase, waitForAtLeast } from './support/phase.js';
import { readMemory } from './support/proc-stats.js';
import { mib, waitForQuietMachine, writeResults } from './support/results.js';
import { shutdownBench } from './support/shutdown.js';
import { openGate, startTicksWorker } from './support/ticks-workflow.js';

const keepAlive = setInterval(() => {}, 1_000);
const levels = (process.env['PROXY_N'] ?? '1,100,1000,5000').split(',').map(Number);
const targets = (process.env['PROXY_TARGETS'] ?? 'proxy,gateway').split(',') as Array<'proxy' | 'gateway'>;
const rate = Number(process.env['FANOUT_RATE'] ?? 20);
const seconds = Number(process.env['FANOUT_SECONDS'] ?? 10);
const count = Math.round(rate * seconds);

const quiet = await waitForQuietMachine();
const engine = await startBenchEngine();
const worker = await startTicksWorker(engine.connection.hatchet);

interface Server {
  readonly pid: number;
  readonly url: string;
  /** Engine listeners this server holds now. */
  listeners(): Promise<number>;
  /** Clients it serves now (the gateway's subscribers; the proxy's listeners). */
  clients(): Promise<number>;
  /** Starts a bench-ticks run the way this server's users would. */
  trigger(input: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

async function startProxy(): Promise<Server> {
  const child: BenchChild = spawnBenchProcess(new URL('./processes/guide-proxy.ts', import.meta.url), engine.clientEnv);
  const { url } = await child.next<{ url: string }>('benchProxy', 120_000);
  const listeners = async () => {
    const response = await fetch(url.replace(/\/stream$/, '/metrics'));
    return ((await response.json()) as { listeners: number }).listeners;
  };
  return {
    pid: child.pid,
    url,
    listeners,
    clients: listeners,
    async trigger(input) {
      const ref = await engine.connection.hatchet.admin.runWorkflow('bench-ticks', input);
      return ref.getWorkflowRunId();
    },
    stop: () => child.stop(),
  };
}

async function startGateway(): Promise<Server> {
  const gateway = await startChildGateway({ env: { ...engine.clientEnv, LOG_LEVEL: 'warn' } });
  const metric = async (name: string) => (await gateway.metrics()).get(name) ?? 0;
  return {
    pid: gateway.pid,
    url: gateway.url,
    listeners: () => metric('hatchet_gateway_upstream_listeners'),
    clients: () => metric('hatchet_gateway_subscribers'),
    trigger: (input) => gateway.trigger('bench-ticks', input),
    stop: () => gateway.stop(),
  };
}

const rows: Array<Record<string, unknown>> = [];
const details: unknown[] = [];
for (const n of levels) {
  for (const target of targets) {
    const server = target === 'proxy' ? await startProxy() : await startGateway();
    const gate = `proxy-${target}-${n}-${Date.now()}`;
    const runId = await server.trigger({ count, intervalMs: 1000 / rate, gate });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const before = await readMemory(server.pid);
    const subscribers = startSubscribers({
      mode: target === 'proxy' ? 'proxy' : 'sse',
      url: server.url,
      runId,
      count: n,
      expectedChunks: count,
      deadlineMs: seconds * 1000 + 240_000,
    });
    const opened = await subscribers.subscribed;
    const attached = await waitForAtLeast(() => server.clients(), n, 120_000);
    // a listener by run id looks the run up (retrying each second) before it subscribes
    await new Promise((resolve) => setTimeout(resolve, 3_000 + n));
    const idle = await readMemory(server.pid);
    const phase = await startPhase({ pid: server.pid, sidecarPid: engine.sidecarPid, gauge: () => server.listeners() });
    openGate(gate);
    const result = await subscribers.result;
    const measured = await phase.stop();
    await subscribers.stop();
    await server.stop();
    const row = {
      server: target === 'proxy' ? 'guide proxy (SSE)' : 'gateway (SSE)',
      clients: n,
      'engine listeners': measured.gaugeMax,
      'p50 ms': result.latencyMs.p50,
      'p99 ms': result.latencyMs.p99,
      lost: result.chunksLostTotal,
      errors: result.errors,
      'RSS base MiB': mib(before.rssBytes),
      'idle KiB/client': Math.round((idle.rssBytes - before.rssBytes) / n / 1024),
      'peak MiB': measured.peakRssMiB,
      'server cores': measured.cores,
      'engine cores': measured.engineCores,
      'engine+pg cores': measured.engineTreeCores,
      'machine busy cores': measured.machineBusyCores,
    };
    rows.push(row);
    details.push({ row, clientsAttached: attached, openSeconds: opened.openSeconds, delivery: measured, result });
    console.table([row]);
  }
}
console.table(rows);
const path = await writeResults('proxy', { rate, seconds, chunks: count, rows, details, quietMachine: quiet });
process.stderr.write(`wrote ${path}\n`);
clearInterval(keepAlive);
await shutdownBench({ worker, engine });
