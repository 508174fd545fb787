/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

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
    "\n  mutation TriggerWorkflow($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) {\n      runId\n      runToken { token }\n    }\n  }\n": typeof types.TriggerWorkflowDocument,
    "\n  mutation CreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token }\n  }\n": typeof types.CreateRunTokenDocument,
    "\n  subscription WorkflowRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor runId }\n      ... on StepStatusEvent { stepName status attempt error }\n      ... on StepOutputEvent { stepName output }\n      ... on StreamChunkEvent { stepName data }\n      ... on FileChunkEvent { stepName name index count }\n      ... on StreamGapEvent { stepName missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n": typeof types.WorkflowRunEventsDocument,
};
const documents: Documents = {
    "\n  mutation TriggerWorkflow($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) {\n      runId\n      runToken { token }\n    }\n  }\n": types.TriggerWorkflowDocument,
    "\n  mutation CreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token }\n  }\n": types.CreateRunTokenDocument,
    "\n  subscription WorkflowRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor runId }\n      ... on StepStatusEvent { stepName status attempt error }\n      ... on StepOutputEvent { stepName output }\n      ... on StreamChunkEvent { stepName data }\n      ... on FileChunkEvent { stepName name index count }\n      ... on StreamGapEvent { stepName missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n": types.WorkflowRunEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TriggerWorkflow($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) {\n      runId\n      runToken { token }\n    }\n  }\n"): (typeof documents)["\n  mutation TriggerWorkflow($workflow: String!, $input: JSON) {\n    triggerWorkflow(workflow: $workflow, input: $input) {\n      runId\n      runToken { token }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token }\n  }\n"): (typeof documents)["\n  mutation CreateRunToken($runId: ID!) {\n    createRunToken(runId: $runId) { token }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription WorkflowRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor runId }\n      ... on StepStatusEvent { stepName status attempt error }\n      ... on StepOutputEvent { stepName output }\n      ... on StreamChunkEvent { stepName data }\n      ... on FileChunkEvent { stepName name index count }\n      ... on StreamGapEvent { stepName missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n"): (typeof documents)["\n  subscription WorkflowRunEvents($runId: ID!, $after: String) {\n    workflowRunEvents(runId: $runId, after: $after) {\n      __typename\n      ... on RunEvent { cursor runId }\n      ... on StepStatusEvent { stepName status attempt error }\n      ... on StepOutputEvent { stepName output }\n      ... on StreamChunkEvent { stepName data }\n      ... on FileChunkEvent { stepName name index count }\n      ... on StreamGapEvent { stepName missedChunks reason }\n      ... on RunStatusEvent { runStatus: status output error }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;