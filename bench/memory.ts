/**
 * `npm run bench -- memory`: memory per retained run-log event (in process)
 * and per idle graphql-ws subscriber (a real gateway and the embedded engine).
 * Prints a table and writes bench/results/memory.json. Run with --expose-gc.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startExampleWorker } from '../examples/workers/worker.js';
import { loadConfig } from '../src/config.js';
import { connectEngine, ordersFinish } from '../src/engine/connect-engine.js';
import { createHatchetAdapter } from '../src/engine/hatchet-adapter.js';
import { RunLog } from '../src/runs/run-log.js';
import { startGateway } from '../src/server/create-gateway.js';

// the SDK's handles are unref'd: without one of ours, node may exit while awaiting the engine
const keepAlive = setInterval(() => {}, 1_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 200));
}

// 1. Retained events: 100,000 eight-character stream chunks in one log.
const EVENTS = 100_000;
const before = heap();
const log = new RunLog('00000000-0000-4000-8000-000000000000');
for (let i = 0; i < EVENTS; i++) {
  log.append({ kind: 'StreamChunk', stepId: 'task', stepName: 'stream', attempt: 1, data: 'abcdefgh' }, new Date());
}
const perEvent = (heap() - before) / log.size;

// 2. Idle subscribers: N graphql-ws clients, one connection each, following one run that streams slowly.
const SUBSCRIBERS = Number(process.env['SUBSCRIBERS'] ?? 200);
const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', HATCHET_EMBEDDED_LOG_LEVEL: 'error' });
const engine = await connectEngine(config);
process.stderr.write('engine up\n');
const worker = await startExampleWorker(engine.hatchet);
process.stderr.write('worker up\n');
const gateway = await startGateway({
  config,
  engine: createHatchetAdapter(engine.hatchet),
  logger: pino({ level: 'silent' }),
  orderedFinish: ordersFinish(config.ENGINE_ORDERED_FINISH, engine.patches),
});
const url = gateway.url.replace(/^http/, 'ws');
const trigger = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });
const runId = await new Promise<string>((resolve, reject) => {
  trigger.subscribe<{ triggerWorkflow: { runId: string } }>(
    {
      query: 'mutation { triggerWorkflow(workflow: "stream-text", input: { chunkSize: 1, delayMs: 2000 }) { runId } }',
    },
    { next: (r) => resolve(r.data?.triggerWorkflow.runId as string), error: reject, complete: () => {} },
  );
});
await settle();
const rssBefore = process.memoryUsage().rss;
const heapBefore = heap();
const clients = Array.from({ length: SUBSCRIBERS }, () =>
  createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true }),
);
for (const client of clients) {
  client.subscribe(
    { query: `subscription { workflowRunEvents(runId: "${runId}") { __typename } }` },
    { next: () => {}, error: () => {}, complete: () => {} },
  );
}
const deadline = Date.now() + 60_000;
while (gateway.runs.stats().subscribers < SUBSCRIBERS) {
  if (Date.now() > deadline) throw new Error(`only ${gateway.runs.stats().subscribers} of ${SUBSCRIBERS} subscribed`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await settle();
// client and server live in this one process: the numbers include both ends of every connection
const perSubscriberHeap = (heap() - heapBefore) / SUBSCRIBERS;
const perSubscriberRss = (process.memoryUsage().rss - rssBefore) / SUBSCRIBERS; // noisy: RSS moves with GC
const upstreams = gateway.runs.stats().upstreams;

for (const client of clients) await client.dispose();
await trigger.dispose();
await gateway.stop();
await worker.stop();
await engine.stop();

const results = {
  retainedEvent: { events: EVENTS, heapBytesPerEvent: Math.round(perEvent) },
  idleSubscriber: {
    subscribers: SUBSCRIBERS,
    heapBytesPerSubscriber: Math.round(perSubscriberHeap),
    rssBytesPerSubscriber: Math.round(perSubscriberRss),
    engineListeners: upstreams,
    note: 'client and gateway in one process: both ends of each connection are counted',
  },
  node: process.version,
  at: new Date().toISOString(),
};
console.table({
  'heap per retained 8-char chunk event': `${results.retainedEvent.heapBytesPerEvent} B`,
  [`heap per idle subscriber (${SUBSCRIBERS}, both ends)`]: `${results.idleSubscriber.heapBytesPerSubscriber} B`,
  [`RSS per idle subscriber (${SUBSCRIBERS}, both ends)`]: `${results.idleSubscriber.rssBytesPerSubscriber} B`,
  'engine listeners for the run': String(upstreams),
});
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/memory.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
clearInterval(keepAlive);
process.exit(0);
