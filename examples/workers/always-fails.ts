/**
 * `always-fails`: one step, `explode`, throws an Error whose message contains
 * `input.message` (default "boom"), with no retries. Used to show how a failed
 * run looks on the wire.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';

export type AlwaysFailsInput = {
  /** Put into the thrown error's message (default "boom"). */
  message?: string;
};

export function alwaysFailsWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<AlwaysFailsInput>({
    name: 'always-fails',
    description: 'Fails on purpose: its step throws an error carrying input.message.',
  });

  workflow.task({
    name: 'explode',
    retries: 0,
    fn: async (input) => {
      throw new Error(`explode failed: ${input.message ?? 'boom'}`);
    },
  });

  return workflow;
}
