/**
 * `multi-step`: a DAG `fetch` -> `transform` -> `summarize`, each step waiting
 * for the previous one. Every step streams progress text on a counted stream
 * (lossless) and returns a JSON object, so a client sees statuses, chunks and
 * outputs interleave by step.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless } from '../../src/worker/index.js';
import { sleep } from './stream-text.js';

export type MultiStepInput = {
  /** Pause inside each step in ms (default 200). */
  delayMs?: number;
};

export function multiStepWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<MultiStepInput>({
    name: 'multi-step',
    description: 'A three-step DAG (fetch, transform, summarize) that streams progress from each step.',
  });

  const fetchStep = workflow.task({
    name: 'fetch',
    retries: 0,
    fn: (input, ctx) =>
      lossless(ctx, async () => {
        await ctx.putStream('fetch: downloading records\n');
        await sleep(input.delayMs ?? 200);
        const records = ['alpha', 'beta', 'gamma', 'delta'];
        await ctx.putStream(`fetch: got ${records.length} records\n`);
        return { records };
      }),
  });

  const transformStep = workflow.task({
    name: 'transform',
    parents: [fetchStep],
    retries: 0,
    fn: (input, ctx) =>
      lossless(ctx, async () => {
        const { records } = await ctx.parentOutput(fetchStep);
        await ctx.putStream('transform: upper-casing records\n');
        await sleep(input.delayMs ?? 200);
        const upper = records.map((r) => r.toUpperCase());
        await ctx.putStream(`transform: ${upper.length} records done\n`);
        return { records: upper };
      }),
  });

  workflow.task({
    name: 'summarize',
    parents: [transformStep],
    retries: 0,
    fn: (input, ctx) =>
      lossless(ctx, async () => {
        const { records } = await ctx.parentOutput(transformStep);
        await ctx.putStream('summarize: writing summary\n');
        await sleep(input.delayMs ?? 200);
        const summary = `${records.length} records: ${records.join(', ')}`;
        await ctx.putStream(`summarize: ${summary}\n`);
        return { summary, count: records.length };
      }),
  });

  return workflow;
}
