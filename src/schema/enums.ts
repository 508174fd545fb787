/** The status enums of steps and runs. */
import { runStatuses, stepStatuses } from '../events/run-event.js';
import { builder } from './builder.js';

const stepStatusDescriptions: Record<(typeof stepStatuses)[number], string> = {
  QUEUED: 'The engine created the step and it waits for a worker.',
  STARTED: 'A worker is running the step (the current attempt).',
  COMPLETED: 'The step returned; its output follows in a StepOutputEvent.',
  FAILED: 'The attempt failed; a later StepStatusEvent with a higher `attempt` means the engine retries it.',
  CANCELLED: 'The step was cancelled.',
  TIMED_OUT: 'The step ran past its execution timeout.',
};

const runStatusDescriptions: Record<(typeof runStatuses)[number], string> = {
  QUEUED: 'The run waits for its first step to be scheduled.',
  RUNNING: 'At least one step is queued or running.',
  COMPLETED: 'Every step completed; the run output is final.',
  FAILED: 'A step failed for good; `error` says why.',
  CANCELLED: 'The run was cancelled.',
  TIMED_OUT: 'The run ran past its timeout.',
};

export const StepStatusEnum = builder.enumType('StepStatus', {
  description: "Where a step's current attempt stands.",
  values: Object.fromEntries(stepStatuses.map((s) => [s, { description: stepStatusDescriptions[s] }])),
});

export const RunStatusEnum = builder.enumType('RunStatus', {
  description: 'Where a workflow run stands.',
  values: Object.fromEntries(runStatuses.map((s) => [s, { description: runStatusDescriptions[s] }])),
});
