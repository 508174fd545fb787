/**
 * `npm run worker`: only the example worker, against the engine named by
 * HATCHET_CLIENT_TOKEN (and the other HATCHET_CLIENT_* settings), or, when it
 * is not set, the embedded engine of a running `npm start`.
 */
import { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { readEmbeddedConnection } from '../../src/engine/embedded-connection.js';
import { startExampleWorker } from './worker.js';

if (!process.env['HATCHET_CLIENT_TOKEN']) {
  const embedded = await readEmbeddedConnection();
  if (!embedded) {
    process.stderr.write(
      'No engine: set HATCHET_CLIENT_TOKEN (and HATCHET_CLIENT_HOST_PORT / HATCHET_CLIENT_API_URL as needed), or run `START_EXAMPLE_WORKER=false npm start` first so that its embedded engine is used.\n',
    );
    process.exit(1);
  }
  Object.assign(process.env, embedded);
}

const hatchet = HatchetClient.init();
const worker = await startExampleWorker(hatchet);
process.stdout.write('example worker ready: stream-text, stream-file, multi-step, always-fails\n');
const stop = async () => {
  await worker.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
