/**
 * `npm run bench -- files`: streams files from a step (the `stream-file`
 * example) through a real gateway and the embedded engine, and measures the
 * time from trigger to the client's last event, MB/s and chunks lost, per
 * chunk size and pause. Prints a table and writes bench/results/files.json.
 * Env: FILE_MB (default 25), RABBITMQ_URL (use RabbitMQ as the engine's queue).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startExampleWorker } from '../examples/workers/worker.js';
import { loadConfig } from '../src/config.js';
import { connectEngine } from '../src/engine/connect-engine.js';
import { createHatchetAdapter } from '../src/engine/hatchet-adapter.js';
import { startGateway } from '../src/server/create-gateway.js';

// the SDK's handles are unref'd: without one of ours, node may exit while awaiting the engine
const keepAlive = setInterval(() => {}, 1_000);
const sizeBytes = Math.round(Number(process.env['FILE_MB'] ?? 25) * 1_000_000);
const rabbit = process.env['RABBITMQ_URL'];
const cases: Array<{ chunkBytes: number; pauseMs: number }> = [
  { chunkBytes: 2048, pauseMs: 1 },
  { chunkBytes: 2048, pauseMs: 0 },
  { chunkBytes: 16_384, pauseMs: 1 },
];

const config = loadConfig({
  PORT: '0',
  LOG_LEVEL: 'silent',
  HATCHET_EMBEDDED_LOG_LEVEL: 'error',
  RUN_LOG_MAX_BYTES: String(512 * 1024 * 1024),
  ...(rabbit ? { HATCHET_EMBEDDED_RABBITMQ_URL: rabbit } : {}),
});
const engine = await connectEngine(config);
const worker = await startExampleWorker(engine.hatchet);
const gateway = await startGateway({
  config,
  engine: createHatchetAdapter(engine.hatchet),
  logger: pino({ level: 'silent' }),
});
const client = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });

function once<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    client.subscribe<T>({ query, variables }, { next: (r) => resolve(r.data as T), error: reject, complete: () => {} });
  });
}

const rows = [];
for (const { chunkBytes, pauseMs } of cases) {
  const started = performance.now();
  const { triggerWorkflow } = await once<{ triggerWorkflow: { runId: string } }>(
    'mutation($i: JSON) { triggerWorkflow(workflow: "stream-file", input: $i) { runId } }',
    { i: { sizeBytes, chunkBytes, pauseMs } },
  );
  let received = 0;
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    client.subscribe<{ workflowRunEvents: { __typename: string; count?: number } }>(
      {
        query:
          'subscription($id: ID!) { workflowRunEvents(runId: $id) { __typename ... on FileChunkEvent { count } } }',
        variables: { id: triggerWorkflow.runId },
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
  const expected = Math.max(1, Math.ceil(sizeBytes / chunkBytes));
  rows.push({
    queue: rabbit ? 'rabbitmq' : 'postgres',
    fileMB: sizeBytes / 1_000_000,
    chunkBytes,
    pauseMs,
    seconds: Number(seconds.toFixed(1)),
    'MB/s': Number((sizeBytes / 1_000_000 / seconds).toFixed(2)),
    chunksLost: expected - received,
    chunks: count || expected,
  });
}
console.table(rows);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/files.json', import.meta.url),
  `${JSON.stringify({ rows, node: process.version, at: new Date().toISOString() }, null, 2)}\n`,
);

await client.dispose();
await gateway.stop();
await worker.stop();
await engine.stop();
clearInterval(keepAlive);
process.exit(0);
