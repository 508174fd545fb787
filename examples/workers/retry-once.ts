/**
 * `retry-once`: one step, `attempt`, streams a line, fails on its first
 * attempt and succeeds on the retry (retries: 1). Shows how a retried step
 * looks on the wire: each attempt's statuses and chunks carry its `attempt`.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless } from '../../src/worker/index.js';

export function retryOnceWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow({
    name: 'retry-once',
    description: 'Fails on the first attempt of its step and succeeds on the retry.',
  });

  workflow.task({
    name: 'attempt',
    retries: 1,
    fn: (_input, ctx) =>
      lossless(ctx, async () => {
        const attempt = ctx.retryCount() + 1;
        await ctx.putStream(`attempt ${attempt} running\n`);
        if (attempt === 1) throw new Error('first attempt fails on purpose');
        return { attempt };
      }),
  });

  return workflow;
}
