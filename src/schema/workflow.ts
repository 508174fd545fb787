/** `Workflow`, the `workflows` query and the `triggerWorkflow` mutation. */
import { assertJsonWithin } from '../auth/limits.js';
import { assertScope, principalName } from '../auth/principal.js';
import { GatewayError } from '../errors.js';
import { builder } from './builder.js';
import { RunTokenRef, type RunTokenShape } from './run-token.js';

export const WorkflowRef = builder.objectRef<{ name: string }>('Workflow').implement({
  description: 'A workflow this gateway may trigger.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The name to pass to `triggerWorkflow`.' }),
  }),
});

const TriggerWorkflowPayload = builder
  .objectRef<{ runId: string; workflow: string; runToken: RunTokenShape }>('TriggerWorkflowPayload')
  .implement({
    description: 'The run a `triggerWorkflow` call started.',
    fields: (t) => ({
      runId: t.exposeID('runId', { description: 'Pass it to `workflowRunEvents` to follow the run.' }),
      workflow: t.exposeString('workflow', { description: 'The workflow that was triggered.' }),
      runToken: t.expose('runToken', {
        type: RunTokenRef,
        description: 'A token to hand to a browser: it may follow this run and nothing else.',
      }),
    }),
  });

builder.queryField('workflows', (t) =>
  t.field({
    type: [WorkflowRef],
    description: 'The workflows this gateway can trigger: registered on the engine, and allowed by its configuration.',
    resolve: async (_root, _args, ctx) => {
      assertScope(ctx.principal, 'read');
      return (await ctx.workflows.list()).map((name) => ({ name }));
    },
  }),
);

builder.mutationField('triggerWorkflow', (t) =>
  t.field({
    type: TriggerWorkflowPayload,
    description:
      'Starts a run of `workflow` with `input` (a JSON object) and returns its id at once. The gateway records the run from this moment, so a client that subscribes later misses nothing.',
    args: {
      workflow: t.arg.string({ required: true, description: 'Name of the workflow, as listed by `workflows`.' }),
      input: t.arg({ type: 'JSON', description: 'The workflow input: a JSON object (default `{}`).' }),
      additionalMetadata: t.arg({
        type: 'JSON',
        description:
          'Key-value metadata stored on the run by the engine: a JSON object of strings, numbers or booleans.',
      }),
    },
    resolve: async (_root, args, ctx) => {
      assertScope(ctx.principal, 'trigger');
      const input = asObject(args.input, 'input');
      assertJsonWithin(input, 'input', ctx.auth.maxInputBytes, ctx.auth.maxInputDepth);
      const metadata = asMetadata(args.additionalMetadata);
      assertJsonWithin(metadata, 'additionalMetadata', ctx.auth.maxInputBytes, ctx.auth.maxInputDepth);
      await ctx.workflows.assertTriggerable(args.workflow);
      // counted only for calls that would start a run
      await ctx.auth.triggers.consume(principalName(ctx.principal));
      const runId = await ctx.runs.startRun((correlation) =>
        ctx.engine.trigger(args.workflow, input, { ...metadata, ...correlation }),
      );
      const { token, expiresAt } = await ctx.auth.authenticator.tokens.issue(runId);
      return { runId, workflow: args.workflow, runToken: { token, runId, expiresAt } };
    },
  }),
);

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('BAD_USER_INPUT', `\`${name}\` must be a JSON object.`);
  }
  return value as Record<string, unknown>;
}

function asMetadata(value: unknown): Record<string, string> {
  const object = asObject(value, 'additionalMetadata');
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(object)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
    else throw new GatewayError('BAD_USER_INPUT', `\`additionalMetadata.${key}\` must be a string, number or boolean.`);
  }
  return out;
}
