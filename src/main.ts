/**
 * `npm start`: the engine (embedded unless HATCHET_CLIENT_TOKEN is set), the
 * example worker (unless START_EXAMPLE_WORKER=false), and the gateway with
 * GraphiQL. SIGINT/SIGTERM stop all three in reverse order.
 */
import { pino } from 'pino';
import { startExampleWorker } from '../examples/workers/worker.js';
import { loadConfig } from './config.js';
import { connectEngine, ordersFinish } from './engine/connect-engine.js';
import { removeEmbeddedConnection, writeEmbeddedConnection } from './engine/embedded-connection.js';
import { createHatchetAdapter } from './engine/hatchet-adapter.js';
import { startGateway } from './server/create-gateway.js';

/** Start-up failures (bad config, no engine, port taken) print their message, not a stack. */
function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const config = (() => {
  try {
    return loadConfig();
  } catch (error) {
    return fail(error);
  }
})();
const logger = pino({ level: config.LOG_LEVEL });

const engine = await connectEngine(config).catch(fail);
const orderedFinish = ordersFinish(config.ENGINE_ORDERED_FINISH, engine.patches);
logger.info({ mode: engine.mode, patches: engine.patches, orderedFinish }, 'engine connected');
if (engine.mode === 'embedded') await writeEmbeddedConnection(engine.hatchet);
const worker = config.START_EXAMPLE_WORKER ? await startExampleWorker(engine.hatchet) : undefined;
const gateway = await startGateway({
  config,
  engine: createHatchetAdapter(engine.hatchet),
  logger,
  orderedFinish,
}).catch(async (error: unknown) => {
  await worker?.stop();
  await engine.stop();
  return fail(error);
});

process.stdout.write(`\nGraphiQL: ${gateway.url}\n\n`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await gateway.stop();
  await worker?.stop();
  await engine.stop();
  if (engine.mode === 'embedded') await removeEmbeddedConnection();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
