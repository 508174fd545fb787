/**
 * urql against the gateway: mutations over HTTP (fetchExchange), subscriptions
 * over graphql-ws or SSE (graphql-sse) through subscriptionExchange.
 * `followRun` triggers a workflow, follows its events and, when the
 * connection drops, resumes on a new client after the last cursor it got, so
 * no event is lost or seen twice.
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
    }
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

/** A urql client for the gateway at `url` (http://host:port/graphql). */
export function createGatewayClient(url: string, transport: Transport = 'ws'): GatewayClient {
  // no automatic retries: they would resubscribe with the original `after`; followRun resumes itself
  const subscriptions =
    transport === 'ws'
      ? createWsClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 })
      : createSseClient({ url, singleConnection: false, retryAttempts: 0 });
  const urql = new Client({
    url,
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

export interface FollowRunOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
  transport?: Transport;
  workflow: string;
  input?: Record<string, unknown>;
  /** Drop the connection after this many events, to show resuming. */
  dropAfter?: number;
  /** Called with each event as it arrives. */
  onEvent?: (event: RunEvent) => void;
  /** Called when a new connection resumes after `cursor`. */
  onResume?: (cursor: string) => void;
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
  workflow,
  input = {},
  dropAfter,
  onEvent,
  onResume,
}: FollowRunOptions): Promise<FollowedRun> {
  let client = createGatewayClient(url, transport);
  try {
    const { data, error } = await client.urql.mutation(TriggerWorkflow, { workflow, input }).toPromise();
    if (!data) throw error ?? new Error('triggerWorkflow returned no data');
    const runId = data.triggerWorkflow.runId;
    const events: RunEvent[] = [];
    for (let connections = 1; ; connections++) {
      const after = events.at(-1)?.cursor;
      if (after) onResume?.(after);
      const received = events.length;
      const end = await follow(client, { runId, after }, (event) => {
        events.push(event);
        onEvent?.(event);
        return events.length === dropAfter;
      });
      if (end.done) return { runId, events, connections };
      // a connection that brought nothing new will not do better next time
      if (events.length === received) throw end.error;
      client.dispose();
      client = createGatewayClient(url, transport);
    }
  } finally {
    client.dispose();
  }
}

type FollowEnd = { done: true } | { done: false; error: unknown };

/**
 * One subscription, until the RunStatusEvent (always the last event) or a lost
 * connection; rejects on GraphQL errors. `onEvent` returns true to drop the connection.
 */
function follow(
  client: GatewayClient,
  variables: { runId: string; after: string | undefined },
  onEvent: (event: RunEvent) => boolean,
): Promise<FollowEnd> {
  return new Promise((resolve, reject) => {
    const subscription = client.urql.subscription(WorkflowRunEvents, variables).subscribe(({ data, error }) => {
      // GraphQL errors (CURSOR_EXPIRED, RUN_NOT_FOUND, ...) end the follow; a lost connection is resumed
      if (error) return settle(() => (error.networkError ? resolve({ done: false, error }) : reject(error)));
      if (!data) return;
      const event = data.workflowRunEvents;
      const drop = onEvent(event);
      if (event.__typename === 'RunStatusEvent') return settle(() => resolve({ done: true }));
      if (drop) {
        client.drop();
        settle(() => resolve({ done: false, error: new Error('connection dropped on purpose') }));
      }
    });
    function settle(end: () => void): void {
      subscription.unsubscribe();
      end();
    }
  });
}
