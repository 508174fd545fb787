/**
 * Apollo Client against the gateway: mutations over HTTP, subscriptions over
 * graphql-ws, one split link. `followRun` triggers a workflow, follows its
 * events and, when the connection drops, resumes on a new client after the
 * last cursor it got, so no event is lost or seen twice.
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  TriggerWorkflowDocument,
  WorkflowRunEventsDocument,
  type WorkflowRunEventsSubscription,
} from './generated/graphql.js';

/** One event of a run, a union discriminated on `__typename`. */
export type RunEvent = WorkflowRunEventsSubscription['workflowRunEvents'];

export interface GatewayClient {
  readonly apollo: ApolloClient;
  /** The graphql-ws client under the subscriptions, to drop or dispose its socket. */
  readonly ws: WsClient;
}

/** An Apollo Client for the gateway at `url` (http://host:port/graphql). */
export function createGatewayClient(url: string): GatewayClient {
  const ws = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket, // Node 20 has no global WebSocket; leave this out in browsers
    retryAttempts: 0, // a retry would resubscribe with the original `after`; followRun resumes itself
  });
  const apollo = new ApolloClient({
    link: ApolloLink.split(
      ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(ws),
      new HttpLink({ uri: url }),
    ),
    cache: new InMemoryCache(),
  });
  return { apollo, ws };
}

export interface FollowRunOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
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
  workflow,
  input = {},
  dropAfter,
  onEvent,
  onResume,
}: FollowRunOptions): Promise<FollowedRun> {
  let client = createGatewayClient(url);
  try {
    const { data } = await client.apollo.mutate({ mutation: TriggerWorkflowDocument, variables: { workflow, input } });
    if (!data) throw new Error('triggerWorkflow returned no data');
    const runId = data.triggerWorkflow.runId;
    const events: RunEvent[] = [];
    for (let connections = 1; ; connections++) {
      const after = events.at(-1)?.cursor;
      if (after) onResume?.(after);
      const received = events.length;
      const end = await follow(client.apollo, { runId, after }, (event) => {
        events.push(event);
        onEvent?.(event);
        if (events.length === dropAfter) client.ws.terminate(); // as a network failure would
      });
      if (end.done) return { runId, events, connections };
      // a connection that brought nothing new will not do better next time
      if (events.length === received) throw end.error;
      dispose(client);
      client = createGatewayClient(url);
    }
  } finally {
    dispose(client);
  }
}

type FollowEnd = { done: true } | { done: false; error: unknown };

/** One subscription: resolves when the server completes it or the connection is lost; rejects on GraphQL errors. */
function follow(
  apollo: ApolloClient,
  variables: { runId: string; after: string | undefined },
  onEvent: (event: RunEvent) => void,
): Promise<FollowEnd> {
  return new Promise((resolve, reject) => {
    apollo
      // events have no identity to normalize: keep them out of the cache
      .subscribe({ query: WorkflowRunEventsDocument, variables, fetchPolicy: 'no-cache' })
      .subscribe({
        next: ({ data, error }) => {
          // GraphQL errors (CURSOR_EXPIRED, RUN_NOT_FOUND, ...) end the follow; a closed socket is resumed
          if (CombinedGraphQLErrors.is(error)) reject(error);
          else if (error) resolve({ done: false, error });
          else if (data) onEvent(data.workflowRunEvents);
        },
        complete: () => resolve({ done: true }),
      });
  });
}

function dispose({ apollo, ws }: GatewayClient): void {
  apollo.stop();
  void ws.dispose();
}
