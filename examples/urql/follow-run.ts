/**
 * urql against the gateway: mutations over HTTP (fetchExchange), subscriptions
 * over graphql-ws or SSE (graphql-sse) through subscriptionExchange.
 * `followRun` triggers a workflow, follows its events and, when the
 * connection drops, resumes on a new client after the last cursor it got, so
 * no event is lost or seen twice. With an API key (authentication on), the key
 * goes with the HTTP requests only: the run is followed with the run token the
 * trigger returned, and when that token expires mid-run (TOKEN_EXPIRED) a
 * fresh one is minted and the follow resumes after the last cursor. In a
 * browser app, your server would trigger and mint tokens, and the browser
 * would only follow.
 */
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Sink } from 'graphql-ws';
import WebSocket from 'ws';
import type { WorkflowRunEventsSubscription } from './generated/graphql.js';
import { graphql } from './generated/index.js';

const TriggerWorkflow = graphql(`
  mutation TriggerWorkflow($workflow: String!, $input: JSON) {
    triggerWorkflow(workflow: $workflow, input: $input) {
      runId
      runToken { token }
    }
  }
`);

/** A fresh run token once the last one expired (needs a key with the read scope). */
const CreateRunToken = graphql(`
  mutation CreateRunToken($runId: ID!) {
    createRunToken(runId: $runId) { token }
  }
`);

const WorkflowRunEvents = graphql(`
  subscription WorkflowRunEvents($runId: ID!, $after: String) {
    workflowRunEvents(runId: $runId, after: $after) {
      __typename
      ... on RunEvent { cursor runId }
      ... on StepStatusEvent { stepName status attempt error }
      ... on StepOutputEvent { stepName output }
      ... on StreamChunkEvent { stepName data }
      ... on FileChunkEvent { stepName name index count }
      ... on StreamGapEvent { stepName missedChunks reason }
      ... on RunStatusEvent { runStatus: status output error }
    }
  }
`);

/** One event of a run, a union discriminated on `__typename`. */
export type RunEvent = WorkflowRunEventsSubscription['workflowRunEvents'];

/** How subscriptions travel: graphql-ws (a WebSocket) or graphql-sse (one HTTP response per subscription). */
export type Transport = 'ws' | 'sse';

export interface GatewayClient {
  readonly urql: Client;
  /** Cuts the subscription connections at once, as a network failure would. */
  drop(): void;
  dispose(): void;
}

/** Credentials, when the gateway has authentication on. */
export interface Credentials {
  /** An API key (scopes trigger and read), sent with the HTTP requests: trigger, createRunToken. */
  apiKey?: string | undefined;
  /** A run token, sent with the subscriptions (graphql-ws connectionParams, SSE header): follows its one run. */
  runToken?: string | undefined;
}

const bearer = (credential: string | undefined) => (credential ? { authorization: `Bearer ${credential}` } : {});

/** A urql client for the gateway at `url` (http://host:port/graphql). */
export function createGatewayClient(
  url: string,
  transport: Transport = 'ws',
  { apiKey, runToken }: Credentials = {},
): GatewayClient {
  // no automatic retries: they would resubscribe with the original `after`; followRun resumes itself
  const subscriptions =
    transport === 'ws'
      ? createWsClient({
          url: url.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: bearer(runToken),
        })
      : createSseClient({ url, singleConnection: false, retryAttempts: 0, headers: bearer(runToken) });
  const urql = new Client({
    url,
    fetchOptions: { headers: bearer(apiKey) },
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: ({ query = '', variables = {} }) => ({
          // the cast only bridges urql's and graphql-ws/-sse's result types under exactOptionalPropertyTypes
          subscribe: (sink) => ({ unsubscribe: subscriptions.subscribe({ query, variables }, sink as Sink) }),
        }),
      }),
    ],
  });
  return {
    urql,
    // graphql-ws closes its socket; graphql-sse aborts its requests
    drop: () => ('terminate' in subscriptions ? subscriptions.terminate() : subscriptions.dispose()),
    dispose: () => void subscriptions.dispose(),
  };
}

/** Why a follow resumed on a new connection. */
export type ResumeReason = 'connection lost' | 'token renewed';

export interface FollowRunOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
  transport?: Transport;
  /** An API key with the trigger and read scopes, when the gateway has authentication on. */
  apiKey?: string | undefined;
  workflow: string;
  input?: Record<string, unknown>;
  /** Drop the connection after this many events, to show resuming. */
  dropAfter?: number;
  /** Called with each event as it arrives. */
  onEvent?: (event: RunEvent) => void;
  /** Called when a new connection resumes after `cursor` (undefined: from the start). */
  onResume?: (cursor: string | undefined, why: ResumeReason) => void;
}

export interface FollowedRun {
  runId: string;
  /** Every event of the run, in order, the last one its RunStatusEvent. */
  events: RunEvent[];
  /** How many subscriptions it took (1 + resumes). */
  connections: number;
}

/** Triggers `workflow`, follows the run to its end and returns what it saw. */
export async function followRun({
  url,
  transport = 'ws',
  apiKey,
  workflow,
  input = {},
  dropAfter,
  onEvent,
  onResume,
}: FollowRunOptions): Promise<FollowedRun> {
  let client = createGatewayClient(url, transport, { apiKey });
  try {
    const { data, error } = await client.urql.mutation(TriggerWorkflow, { workflow, input }).toPromise();
    if (!data) throw error ?? new Error('triggerWorkflow returned no data');
    const { runId, runToken } = data.triggerWorkflow;
    let token = runToken.token;
    const events: RunEvent[] = [];
    let why: ResumeReason | undefined;
    for (let connections = 1; ; connections++) {
      // each connection presents the current run token, never the API key
      client.dispose();
      client = createGatewayClient(url, transport, { apiKey, runToken: token });
      const after = events.at(-1)?.cursor;
      if (why) onResume?.(after, why);
      const received = events.length;
      const end = await follow(client, { runId, after }, (event) => {
        events.push(event);
        onEvent?.(event);
        return events.length === dropAfter;
      });
      if (end.done) return { runId, events, connections };
      if (end.expired) {
        // the API key mints a fresh token; the cursor stays valid
        const minted = await client.urql.mutation(CreateRunToken, { runId }).toPromise();
        if (!minted.data) throw minted.error ?? new Error('createRunToken returned no data');
        token = minted.data.createRunToken.token;
        why = 'token renewed';
      } else if (events.length === received) {
        throw end.error; // a connection that brought nothing new will not do better next time
      } else {
        why = 'connection lost';
      }
    }
  } finally {
    client.dispose();
  }
}

type FollowEnd = { done: true } | { done: false; expired: boolean; error: unknown };

/**
 * One subscription, until the RunStatusEvent (always the last event), a lost
 * connection or the run token's expiry; rejects on other GraphQL errors.
 * `onEvent` returns true to drop the connection.
 */
function follow(
  client: GatewayClient,
  variables: { runId: string; after: string | undefined },
  onEvent: (event: RunEvent) => boolean,
): Promise<FollowEnd> {
  return new Promise((resolve, reject) => {
    const subscription = client.urql.subscription(WorkflowRunEvents, variables).subscribe(({ data, error }) => {
      // GraphQL errors (CURSOR_EXPIRED, RUN_NOT_FOUND, ...) end the follow; a lost connection is resumed
      if (error) {
        const expired = error.graphQLErrors.some((e) => e.extensions['code'] === 'TOKEN_EXPIRED');
        const resumable = expired || error.networkError;
        return settle(() => (resumable ? resolve({ done: false, expired, error }) : reject(error)));
      }
      if (!data) return;
      const event = data.workflowRunEvents;
      const drop = onEvent(event);
      if (event.__typename === 'RunStatusEvent') return settle(() => resolve({ done: true }));
      if (drop) {
        client.drop();
        settle(() => resolve({ done: false, expired: false, error: new Error('connection dropped on purpose') }));
      }
    });
    function settle(end: () => void): void {
      subscription.unsubscribe();
      end();
    }
  });
}
