/**
 * The GraphQL documents the web page sends, typed by the client preset of
 * GraphQL Code Generator (`npm run codegen` writes web/src/generated/). The
 * documents are plain strings at run time: the page bundles no GraphQL parser.
 */
import { graphql } from './generated/gql.js';

/** The workflows this gateway may trigger. */
export const WORKFLOWS = graphql(`
  query PageWorkflows {
    workflows { name }
  }
`);

/** Starts a run; sent over HTTP (with the API key, when the gateway wants one). */
export const TRIGGER = graphql(`
  mutation PageTrigger($workflow: String!, $input: JSON) {
    triggerWorkflow(workflow: $workflow, input: $input) { runId workflow runToken { token expiresAt } }
  }
`);

/** A fresh run token for a run whose token expired (or after a reload); sent over HTTP with the API key. */
export const CREATE_RUN_TOKEN = graphql(`
  mutation PageCreateRunToken($runId: ID!) {
    createRunToken(runId: $runId) { token expiresAt }
  }
`);

/** Follows a run over graphql-ws, with the run's token; `after` resumes after the last cursor handled. */
export const RUN_EVENTS = graphql(`
  subscription PageRunEvents($runId: ID!, $after: String) {
    workflowRunEvents(runId: $runId, after: $after) {
      __typename
      ... on RunEvent { cursor at }
      ... on StepStatusEvent { stepId stepName status attempt error }
      ... on StepOutputEvent { stepName attempt output }
      ... on StreamChunkEvent { stepName attempt data }
      ... on FileChunkEvent { stepName attempt fileId name mimeType index count size sha256 data }
      ... on StreamGapEvent { stepName attempt missedChunks reason }
      ... on RunStatusEvent { runStatus: status output error }
    }
  }
`);
