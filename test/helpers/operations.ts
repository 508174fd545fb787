/** The GraphQL documents the tests send, written as a client app would. */

export const TRIGGER = /* GraphQL */ `
  mutation Trigger($workflow: String!, $input: JSON, $meta: JSON) {
    triggerWorkflow(workflow: $workflow, input: $input, additionalMetadata: $meta) { runId workflow }
  }
`;

export const RUN_EVENTS = /* GraphQL */ `
  subscription RunEvents($runId: ID!, $after: String) {
    workflowRunEvents(runId: $runId, after: $after) {
      __typename
      ... on RunEvent { cursor runId at }
      ... on StepStatusEvent { stepId stepName status error attempt }
      ... on StepOutputEvent { stepId stepName output attempt }
      ... on StreamChunkEvent { stepId stepName data attempt }
      ... on FileChunkEvent { stepId stepName fileId name mimeType index count size sha256 data }
      ... on StreamGapEvent { stepId stepName missedChunks reason }
      ... on RunStatusEvent { runStatus: status output error }
    }
  }
`;

/** One event as RUN_EVENTS selects it. */
export interface WireEvent {
  __typename: string;
  cursor: string;
  runId: string;
  at: string;
  stepId?: string;
  stepName?: string;
  status?: string;
  runStatus?: string;
  error?: string | null;
  attempt?: number | null;
  output?: unknown;
  data?: string;
  fileId?: string;
  name?: string;
  mimeType?: string;
  index?: number;
  count?: number;
  size?: number;
  sha256?: string;
  missedChunks?: number | null;
  reason?: string;
}
