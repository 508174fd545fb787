/**
 * Ends a bench: lets any run still waiting at its gate go, stops the worker
 * and the engine, each within a bound (the SDK's worker.stop() can wait on a
 * task for ever), then exits the process.
 */
import { openAllGates } from './ticks-workflow.js';

async function bounded(what: string, work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`bench: ${what} did not finish within ${ms} ms; going on\n`);
      resolve();
    }, ms);
  });
  await Promise.race([work.catch(() => {}), late]);
  clearTimeout(timer);
}

export async function shutdownBench(parts: {
  worker?: { stop(): Promise<void> };
  engine: { stop(): Promise<void> };
}): Promise<never> {
  openAllGates();
  if (parts.worker) await bounded('worker.stop()', parts.worker.stop(), 15_000);
  await bounded('engine.stop()', parts.engine.stop(), 60_000);
  process.exit(0);
}
