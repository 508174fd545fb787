/**
 * The example worker: registers the four example workflows on one Hatchet
 * worker. Used by `npm start` (in the gateway process), `npm run worker`
 * (alone) and the tests.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { alwaysFailsWorkflow } from './always-fails.js';
import { multiStepWorkflow } from './multi-step.js';
import { retryOnceWorkflow } from './retry-once.js';
import { streamFileWorkflow } from './stream-file.js';
import { streamTextWorkflow } from './stream-text.js';

/** The example workflows' names: a contract with the tests and the web page. */
export const exampleWorkflowNames = ['stream-text', 'stream-file', 'multi-step', 'always-fails', 'retry-once'] as const;

export interface ExampleWorker {
  stop(): Promise<void>;
}

/** Starts the worker and resolves once it is registered with the engine. */
export async function startExampleWorker(hatchet: HatchetClient, name = 'gateway-examples'): Promise<ExampleWorker> {
  const worker = await hatchet.worker(name, {
    workflows: [
      streamTextWorkflow(hatchet),
      streamFileWorkflow(hatchet),
      multiStepWorkflow(hatchet),
      alwaysFailsWorkflow(hatchet),
      retryOnceWorkflow(hatchet),
    ],
    slots: 20,
    // the gateway and the tests own the process: no signal handler that calls process.exit
    handleKill: false,
  });
  // start() resolves only when the worker stops
  const running = worker.start();
  running.catch((error: unknown) => {
    process.stderr.write(`example worker stopped: ${error instanceof Error ? error.message : String(error)}\n`);
  });
  await worker.waitUntilReady(60_000);
  return {
    stop: async () => {
      await worker.stop();
      await running.catch(() => {});
    },
  };
}
