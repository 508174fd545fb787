/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query PageWorkflows {\n    workflows { name }\n  }\n": typeof types.PageWorkflowsDocument,
    "\n  mutation PageTrigger($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) { runId workflow runToken { token expiresAt } }\n  }\n": typeof types.PageTriggerDocument,
    "\n  mutation PageCreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token expiresAt }\n  }\n": typeof types.PageCreateRunTokenDocument,
    "\n  subscription PageRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor at }\n      ... on StepStatusEvent { stepId stepName status attempt error }\n      ... on StepOutputEvent { stepName attempt output }\n      ... on StreamChunkEvent { stepName attempt data }\n      ... on FileChunkEvent { stepName attempt fileId name mimeType index count size sha256 data }\n      ... on StreamGapEvent { stepName attempt missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n": typeof types.PageRunEventsDocument,
};
const documents: Documents = {
    "\n  query PageWorkflows {\n    workflows { name }\n  }\n": types.PageWorkflowsDocument,
    "\n  mutation PageTrigger($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) { runId workflow runToken { token expiresAt } }\n  }\n": types.PageTriggerDocument,
    "\n  mutation PageCreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token expiresAt }\n  }\n": types.PageCreateRunTokenDocument,
    "\n  subscription PageRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor at }\n      ... on StepStatusEvent { stepId stepName status attempt error }\n      ... on StepOutputEvent { stepName attempt output }\n      ... on StreamChunkEvent { stepName attempt data }\n      ... on FileChunkEvent { stepName attempt fileId name mimeType index count size sha256 data }\n      ... on StreamGapEvent { stepName attempt missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n": types.PageRunEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query PageWorkflows {\n    workflows { name }\n  }\n"): typeof import('./graphql.js').PageWorkflowsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PageTrigger($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) { runId workflow runToken { token expiresAt } }\n  }\n"): typeof import('./graphql.js').PageTriggerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PageCreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token expiresAt }\n  }\n"): typeof import('./graphql.js').PageCreateRunTokenDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription PageRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor at }\n      ... on StepStatusEvent { stepId stepName status attempt error }\n      ... on StepOutputEvent { stepName attempt output }\n      ... on StreamChunkEvent { stepName attempt data }\n      ... on FileChunkEvent { stepName attempt fileId name mimeType index count size sha256 data }\n      ... on StreamGapEvent { stepName attempt missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n"): typeof import('./graphql.js').PageRunEventsDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
