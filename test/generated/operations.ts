/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** Where a workflow run stands. */
export type RunStatus =
  /** The run was cancelled. */
  | 'CANCELLED'
  /** Every step completed; the run output is final. */
  | 'COMPLETED'
  /** A step failed for good; `error` says why. */
  | 'FAILED'
  /** The run waits for its first step to be scheduled. */
  | 'QUEUED'
  /** At least one step is queued or running. */
  | 'RUNNING'
  /** The run ran past its timeout. */
  | 'TIMED_OUT';

/** Where a step's current attempt stands. */
export type StepStatus =
  /** The step was cancelled. */
  | 'CANCELLED'
  /** The step returned; its output follows in a StepOutputEvent. */
  | 'COMPLETED'
  /** The attempt failed; a later StepStatusEvent with a higher `attempt` means the engine retries it. */
  | 'FAILED'
  /** The engine created the step and it waits for a worker. */
  | 'QUEUED'
  /** A worker is running the step (the current attempt). */
  | 'STARTED'
  /** The step ran past its execution timeout. */
  | 'TIMED_OUT';

export type TriggerMutationVariables = Exact<{
  workflow: string;
  input?: unknown;
  meta?: unknown;
}>;


export type TriggerMutation = { __typename: 'Mutation', triggerWorkflow: { __typename: 'TriggerWorkflowPayload', runId: string, workflow: string } };

export type RunEventsSubscriptionVariables = Exact<{
  runId: string | number;
  after?: string | null | undefined;
}>;


export type RunEventsSubscription = { __typename: 'Subscription', workflowRunEvents:
    | { __typename: 'FileChunkEvent', cursor: string, runId: string, at: string, stepId: string, stepName: string, fileId: string, name: string, mimeType: string, index: number, count: number, size: number, sha256: string, data: string }
    | { __typename: 'RunStatusEvent', cursor: string, runId: string, at: string, output: unknown, error: string | null, runStatus: RunStatus }
    | { __typename: 'StepOutputEvent', cursor: string, runId: string, at: string, stepId: string, stepName: string, output: unknown, attempt: number | null }
    | { __typename: 'StepStatusEvent', cursor: string, runId: string, at: string, stepId: string, stepName: string, status: StepStatus, error: string | null, attempt: number | null }
    | { __typename: 'StreamChunkEvent', cursor: string, runId: string, at: string, stepId: string, stepName: string, data: string, attempt: number | null }
    | { __typename: 'StreamGapEvent', cursor: string, runId: string, at: string, stepId: string, stepName: string, missedChunks: number | null, reason: string }
   };
