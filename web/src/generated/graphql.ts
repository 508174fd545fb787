/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
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

export type PageWorkflowsQueryVariables = Exact<{ [key: string]: never; }>;


export type PageWorkflowsQuery = { __typename: 'Query', workflows: Array<{ __typename: 'Workflow', name: string }> };

export type PageTriggerMutationVariables = Exact<{
  workflow: string;
  input?: unknown;
}>;


export type PageTriggerMutation = { __typename: 'Mutation', triggerWorkflow: { __typename: 'TriggerWorkflowPayload', runId: string, workflow: string, runToken: { __typename: 'RunToken', token: string, expiresAt: string } } };

export type PageCreateRunTokenMutationVariables = Exact<{
  runId: string | number;
}>;


export type PageCreateRunTokenMutation = { __typename: 'Mutation', createRunToken: { __typename: 'RunToken', token: string, expiresAt: string } };

export type PageRunEventsSubscriptionVariables = Exact<{
  runId: string | number;
  after?: string | null | undefined;
}>;


export type PageRunEventsSubscription = { __typename: 'Subscription', workflowRunEvents:
    | { __typename: 'FileChunkEvent', cursor: string, at: string, stepName: string, attempt: number | null, fileId: string, name: string, mimeType: string, index: number, count: number, size: number, sha256: string, data: string }
    | { __typename: 'RunStatusEvent', cursor: string, at: string, output: unknown, error: string | null, runStatus: RunStatus }
    | { __typename: 'StepOutputEvent', cursor: string, at: string, stepName: string, attempt: number | null, output: unknown }
    | { __typename: 'StepStatusEvent', cursor: string, at: string, stepId: string, stepName: string, status: StepStatus, attempt: number | null, error: string | null }
    | { __typename: 'StreamChunkEvent', cursor: string, at: string, stepName: string, attempt: number | null, data: string }
    | { __typename: 'StreamGapEvent', cursor: string, at: string, stepName: string, attempt: number | null, missedChunks: number | null, reason: string }
   };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const PageWorkflowsDocument = new TypedDocumentString(`
    query PageWorkflows {
  workflows {
    name
  }
}
    `) as unknown as TypedDocumentString<PageWorkflowsQuery, PageWorkflowsQueryVariables>;
export const PageTriggerDocument = new TypedDocumentString(`
    mutation PageTrigger($workflow: String!, $input: JSON) {
  triggerWorkflow(workflow: $workflow, input: $input) {
    runId
    workflow
    runToken {
      token
      expiresAt
    }
  }
}
    `) as unknown as TypedDocumentString<PageTriggerMutation, PageTriggerMutationVariables>;
export const PageCreateRunTokenDocument = new TypedDocumentString(`
    mutation PageCreateRunToken($runId: ID!) {
  createRunToken(runId: $runId) {
    token
    expiresAt
  }
}
    `) as unknown as TypedDocumentString<PageCreateRunTokenMutation, PageCreateRunTokenMutationVariables>;
export const PageRunEventsDocument = new TypedDocumentString(`
    subscription PageRunEvents($runId: ID!, $after: String) {
  workflowRunEvents(runId: $runId, after: $after) {
    __typename
    ... on RunEvent {
      cursor
      at
    }
    ... on StepStatusEvent {
      stepId
      stepName
      status
      attempt
      error
    }
    ... on StepOutputEvent {
      stepName
      attempt
      output
    }
    ... on StreamChunkEvent {
      stepName
      attempt
      data
    }
    ... on FileChunkEvent {
      stepName
      attempt
      fileId
      name
      mimeType
      index
      count
      size
      sha256
      data
    }
    ... on StreamGapEvent {
      stepName
      attempt
      missedChunks
      reason
    }
    ... on RunStatusEvent {
      runStatus: status
      output
      error
    }
  }
}
    `) as unknown as TypedDocumentString<PageRunEventsSubscription, PageRunEventsSubscriptionVariables>;