/**
 * What the gateway reads from the engine, in plain data: one listener event,
 * and one snapshot of a run's REST state. The Hatchet adapter produces these;
 * the pure mapping consumes them. Kept free of SDK types so the mapping can be
 * tested on recorded fixtures.
 */

export type EngineResourceType = 'STEP_RUN' | 'WORKFLOW_RUN' | 'UNKNOWN';
export type EngineEventType = 'STARTED' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT' | 'STREAM' | 'UNKNOWN';

/** One event from the engine's workflow-run listener (dispatcher SubscribeToWorkflowEvents). */
export interface EngineEvent {
  readonly workflowRunId: string;
  readonly resourceType: EngineResourceType;
  readonly eventType: EngineEventType;
  /** The task's external id for STEP_RUN events, the run id for WORKFLOW_RUN events. */
  readonly resourceId: string;
  /** ISO timestamp, when the engine gave one. */
  readonly timestamp: string | null;
  readonly payload: string;
  readonly hangup: boolean;
  readonly retryCount: number | null;
  /** Per-task index of STREAM events, from 0. */
  readonly eventIndex: number | null;
}

export type EngineTaskStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

/** A task of a run, as the engine's REST API reports it. */
export interface TaskSnapshot {
  readonly taskId: string;
  /** The step's name in the workflow definition. */
  readonly name: string;
  readonly status: EngineTaskStatus;
  readonly output: unknown;
  /** Raw error message (TS workers send JSON `{message, stack}`). */
  readonly error: string | null;
  readonly attempt: number;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** A run as the engine's REST API reports it. */
export interface RunSnapshot {
  readonly runId: string;
  readonly workflowName: string;
  readonly status: EngineTaskStatus;
  readonly output: unknown;
  readonly error: string | null;
  /** Task id -> step name, for every task the engine has created so far. */
  readonly stepNames: Readonly<Record<string, string>>;
  readonly tasks: readonly TaskSnapshot[];
}
