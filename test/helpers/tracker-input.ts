/**
 * Synthetic engine input for unit tests of the RunTracker: listener events and
 * REST snapshots of one run (RUN) with a task TASK named "work", and OTHER.
 */
import type { EngineEvent, RunSnapshot, TaskSnapshot } from '../../src/events/engine-event.js';

export const RUN = 'run-1';
export const TASK = 'task-1';
export const OTHER = 'task-2';

export function event(fields: Partial<EngineEvent> & Pick<EngineEvent, 'eventType'>): EngineEvent {
  return {
    workflowRunId: RUN,
    resourceType: 'STEP_RUN',
    resourceId: TASK,
    timestamp: null,
    payload: '',
    hangup: false,
    retryCount: null,
    eventIndex: null,
    ...fields,
  };
}

export const chunk = (eventIndex: number, payload: string, resourceId = TASK): EngineEvent =>
  event({ eventType: 'STREAM', eventIndex, payload, resourceId });

export function task(fields: Partial<TaskSnapshot> = {}): TaskSnapshot {
  return {
    taskId: TASK,
    name: 'work',
    status: 'RUNNING',
    output: null,
    error: null,
    attempt: 1,
    startedAt: null,
    finishedAt: null,
    ...fields,
  };
}

export function snapshot(tasks: TaskSnapshot[], fields: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    runId: RUN,
    workflowName: 'wf',
    status: 'RUNNING',
    output: null,
    error: null,
    stepNames: Object.fromEntries(tasks.map((t) => [t.taskId, t.name])),
    tasks,
    ...fields,
  };
}
