/** `WorkflowRun` and `StepRun`: a run's current state as the engine reports it. */

import { assertCanRead, assertScope } from '../auth/principal.js';
import { isRunId } from '../engine/hatchet-adapter.js';
import { GatewayError } from '../errors.js';
import type { RunSnapshot, TaskSnapshot } from '../events/engine-event.js';
import { errorMessage, runStatusOf, stepStatusOf } from '../events/run-tracker.js';
import { builder } from './builder.js';
import { RunStatusEnum, StepStatusEnum } from './enums.js';

const StepRunRef = builder.objectRef<TaskSnapshot>('StepRun').implement({
  description: 'A step of a run, at its latest attempt.',
  fields: (t) => ({
    id: t.exposeID('taskId', { description: 'The step run id (the engine task external id); `stepId` in events.' }),
    name: t.exposeString('name', { description: "The step's name in the workflow definition." }),
    status: t.field({
      type: StepStatusEnum,
      description: 'Status of the latest attempt.',
      resolve: (s) => stepStatusOf(s.status),
    }),
    attempt: t.exposeInt('attempt', { description: 'The latest attempt, from 1.' }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the step returned, once COMPLETED.',
      resolve: (s) => (s.status === 'COMPLETED' ? s.output : null),
    }),
    error: t.string({
      nullable: true,
      description: "The worker's error message, once FAILED (never its stack).",
      resolve: (s) => (s.status === 'FAILED' && s.error ? errorMessage(s.error) : null),
    }),
  }),
});

export const WorkflowRunRef = builder.objectRef<RunSnapshot>('WorkflowRun').implement({
  description: 'A workflow run as the engine reports it now. Follow `workflowRunEvents` to see it change.',
  fields: (t) => ({
    id: t.exposeID('runId', { description: 'The run id.' }),
    workflowName: t.exposeString('workflowName', { description: 'The workflow this run belongs to.' }),
    status: t.field({
      type: RunStatusEnum,
      description: 'Where the run stands.',
      resolve: (r) => runStatusOf(r.status),
    }),
    steps: t.field({
      type: [StepRunRef],
      description: 'The steps the engine has created so far, at their latest attempt.',
      resolve: (r) => r.tasks,
    }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The run output, once COMPLETED.',
      resolve: (r) => (r.status === 'COMPLETED' ? r.output : null),
    }),
    error: t.string({
      nullable: true,
      description: 'Why the run failed, once FAILED.',
      resolve: (r) => {
        if (r.status !== 'FAILED') return null;
        const failed = r.tasks.find((s) => s.status === 'FAILED' && s.error);
        const raw = r.error ?? failed?.error;
        return raw ? errorMessage(raw) : 'the run failed';
      },
    }),
  }),
});

/** Throws BAD_USER_INPUT for an id that cannot be a run id. */
export function assertRunId(id: string): void {
  if (!isRunId(id)) throw new GatewayError('BAD_USER_INPUT', `"${id.slice(0, 64)}" is not a run id (a UUID).`);
}

builder.queryField('workflowRun', (t) =>
  t.field({
    type: WorkflowRunRef,
    nullable: true,
    description: "A run's current state; null when the engine does not know it.",
    args: { id: t.arg.id({ required: true, description: 'The run id.' }) },
    resolve: async (_root, { id }, ctx) => {
      assertCanRead(ctx.principal, String(id));
      assertRunId(String(id));
      return ctx.engine.snapshot(String(id));
    },
  }),
);

builder.mutationField('cancelWorkflowRun', (t) =>
  t.field({
    type: WorkflowRunRef,
    description:
      "Asks the engine to cancel a run and returns its state right after. Followers see the steps' CANCELLED statuses and the run's terminal event.",
    args: { id: t.arg.id({ required: true, description: 'The run id.' }) },
    resolve: async (_root, { id }, ctx) => {
      assertScope(ctx.principal, 'trigger');
      const runId = String(id);
      assertRunId(runId);
      if (!(await ctx.engine.snapshot(runId)))
        throw new GatewayError('RUN_NOT_FOUND', `Run ${runId} is not known to the engine.`);
      await ctx.engine.cancel(runId);
      const after = await ctx.engine.snapshot(runId);
      if (!after) throw new GatewayError('RUN_NOT_FOUND', `Run ${runId} is not known to the engine.`);
      return after;
    },
  }),
);
