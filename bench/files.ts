/**
 * `npm run bench -- files`: streams files from a step (the `stream-file`
 * example) through a real gateway and the embedded engine, and measures the
 * time from trigger to the client's last event, MB/s and chunks lost, per
 * chunk size (the worker kit's putFile: acknowledged writes, frames kept
 * under its 3500-byte limit), and the gateway's own memory: each case gets a fresh
 * gateway in its own process (bench/processes/gateway.ts), whose VmRSS is
 * sampled every 100 ms; baseline is its RSS once listening, peak its VmHWM.
 * Engine, worker and client stay in this process.
 * Prints a table and writes bench/results/files.json.
 * Env: FILE_MB (default 25), RABBITMQ_URL (use RabbitMQ as the engine's queue),
 * FILE_CASES=first (only the 2 KiB case).
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startExampleWorker } from '../examples/workers/worker.js';
import { startBenchEngine } from './support/bench-engine.js';
import { startChildGateway } from './support/child-gateway.js';
import { readMemory, sampleMemory } from './support/proc-stats.js';
import { mib, writeResults } from './support/results.js';
import { shutdownBench } from './support/shutdown.js';

// the SDK's handles are unref'd: without one of ours, node may exit while awaiting the engine
const keepAlive = setInterval(() => {}, 1_000);
const sizeBytes = Math.round(Number(process.env['FILE_MB'] ?? 25) * 1_000_000);
const rabbit = process.env['RABBITMQ_URL'];
// 2 KiB: putFile's default; 2400: about the largest a frame carries under the kit's 3500-byte limit
const allCases: Array<{ chunkBytes: number }> = [{ chunkBytes: 2048 }, { chunkBytes: 2400 }];
const cases = process.env['FILE_CASES'] === 'first' ? allCases.slice(0, 1) : allCases;

const engine = await startBenchEngine(rabbit ? { HATCHET_EMBEDDED_RABBITMQ_URL: rabbit } : {});
const worker = await startExampleWorker(engine.connection.hatchet);

const rows = [];
for (const { chunkBytes } of cases) {
  const gateway = await startChildGateway({
    env: { ...engine.clientEnv, LOG_LEVEL: 'warn', RUN_LOG_MAX_BYTES: String(512 * 1024 * 1024) },
  });
  const client = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const baseline = await readMemory(gateway.pid);
  const sampler = sampleMemory(gateway.pid, 100);

  const started = performance.now();
  const runId = await gateway.trigger('stream-file', { sizeBytes, chunkBytes });
  let received = 0;
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ workflowRunEvents: { __typename: string; count?: number } }>(
      {
        query:
          'subscription($id: ID!) { workflowRunEvents(runId: $id) { __typename ... on FileChunkEvent { count } } }',
        variables: { id: runId },
      },
      {
        next: (r) => {
          if (r.data?.workflowRunEvents.__typename === 'FileChunkEvent') {
            received++;
            count = r.data.workflowRunEvents.count ?? count;
          }
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const memory = await sampler.stop();
  await client.dispose();
  await gateway.stop();

  // putFile may lower chunkBytes to keep a frame under the kit's limit: the frames say how many there are
  const expected = count || Math.max(1, Math.ceil(sizeBytes / chunkBytes));
  rows.push({
    queue: rabbit ? 'rabbitmq' : 'postgres',
    fileMB: sizeBytes / 1_000_000,
    chunkBytes,
    seconds: Number(seconds.toFixed(1)),
    'MB/s': Number((sizeBytes / 1_000_000 / seconds).toFixed(2)),
    chunksLost: expected - received,
    chunks: expected,
    'gateway baseline RSS MiB': mib(baseline.rssBytes),
    'gateway peak RSS MiB': mib(Math.max(memory.hwmBytes, memory.peakRssBytes)),
  });
}
console.table(rows);
const path = await writeResults('files', {
  rows,
  note: 'gateway in its own process (fresh per case); peak = VmHWM (sampled VmRSS max if higher); the run log keeps the file (base64) for RUN_LOG_RETENTION_MS',
});
process.stderr.write(`wrote ${path}\n`);

clearInterval(keepAlive);
await shutdownBench({ worker, engine });
