/**
 * A gateway alone in its process, for the benches that measure its memory
 * and CPU: it connects to the engine named by HATCHET_CLIENT_* (the bench's
 * embedded engine), starts `startGateway` with the gateway's usual env
 * configuration (PORT defaults to 0 here), prints one line
 * `{"benchGateway": {"url", "pid"}}` on stdout, and stops on SIGTERM.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { connectEngine, ordersFinish } from '../../src/engine/connect-engine.js';
import { createHatchetAdapter } from '../../src/engine/hatchet-adapter.js';
import { startGateway } from '../../src/server/create-gateway.js';

if (!process.env['HATCHET_CLIENT_TOKEN']) throw new Error('bench gateway: HATCHET_CLIENT_TOKEN is not set');
// the SDK's handles are unref'd: without one of ours, node may exit while awaiting the engine
const keepAlive = setInterval(() => {}, 1_000);
const config = loadConfig({ LOG_LEVEL: 'warn', GRAPHIQL: 'false', ...process.env, PORT: process.env['PORT'] ?? '0' });
const engine = await connectEngine(config);
const gateway = await startGateway({
  config,
  engine: createHatchetAdapter(engine.hatchet),
  logger: pino({ level: config.LOG_LEVEL }, pino.destination(2)),
  // the bench's engine is the embedded one, reached with a token: the bench says what it is
  orderedFinish: ordersFinish(config.ENGINE_ORDERED_FINISH, engine.patches),
});
process.stdout.write(`${JSON.stringify({ benchGateway: { url: gateway.url, pid: process.pid } })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void gateway.stop().finally(() => {
    clearInterval(keepAlive);
    // a normal exit, so that --cpu-prof writes its profile
    process.exit(0);
  });
});
