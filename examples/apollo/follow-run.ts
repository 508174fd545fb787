/**
 * Apollo Client against the gateway: mutations over HTTP, subscriptions over
 * graphql-ws, one split link. `followRun` triggers a workflow, follows its
 * events and, when the connection drops, resumes on a new client after the
 * last cursor it got, so no event is lost or seen twice. With an API key
 * (authentication on), the key goes with the HTTP requests only: the run is
 * followed with the run token the trigger returned, and when that token
 * expires mid-run (TOKEN_EXPIRED) a fresh one is minted and the follow
 * resumes after the last cursor. In a browser app, your server would trigger
 * and mint tokens, and the browser would only follow.
 */
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CreateRunTokenDocument,
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

/** Credentials, when the gateway has authentication on. */
export interface Credentials {
  /** An API key (scopes trigger and read), sent with the HTTP requests: trigger, createRunToken. */
  apiKey?: string | undefined;
  /** A run token, sent with the graphql-ws connection: follows its one run. */
  runToken?: string | undefined;
}

const bearer = (credential: string | undefined) => (credential ? { authorization: `Bearer ${credential}` } : {});

/** An Apollo Client for the gateway at `url` (http://host:port/graphql). */
export function createGatewayClient(url: string, { apiKey, runToken }: Credentials = {}): GatewayClient {
  const ws = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket, // Node 20 has no global WebSocket; leave this out in browsers
    retryAttempts: 0, // a retry would resubscribe with the original `after`; followRun resumes itself
    connectionParams: bearer(runToken), // checked once, when the socket opens
  });
  const apollo = new ApolloClient({
    link: ApolloLink.split(
      ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(ws),
      new HttpLink({ uri: url, headers: bearer(apiKey) }),
    ),
    cache: new InMemoryCache(),
  });
  return { apollo, ws };
}

/** Why a follow resumed on a new connection. */
export type ResumeReason = 'connection lost' | 'token renewed';

export interface FollowRunOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
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
  apiKey,
  workflow,
  input = {},
  dropAfter,
  onEvent,
  onResume,
}: FollowRunOptions): Promise<FollowedRun> {
  let client = createGatewayClient(url, { apiKey });
  try {
    const { data } = await client.apollo.mutate({ mutation: TriggerWorkflowDocument, variables: { workflow, input } });
    if (!data) throw new Error('triggerWorkflow returned no data');
    const { runId, runToken } = data.triggerWorkflow;
    let token = runToken.token;
    const events: RunEvent[] = [];
    let why: ResumeReason | undefined;
    for (let connections = 1; ; connections++) {
      // each connection presents the current run token, never the API key
      dispose(client);
      client = createGatewayClient(url, { apiKey, runToken: token });
      const after = events.at(-1)?.cursor;
      if (why) onResume?.(after, why);
      const received = events.length;
      const end = await follow(client.apollo, { runId, after }, (event) => {
        events.push(event);
        onEvent?.(event);
        if (events.length === dropAfter) client.ws.terminate(); // as a network failure would
      });
      if (end.done) return { runId, events, connections };
      if (end.expired) {
        // the API key mints a fresh token; the cursor stays valid
        const minted = await client.apollo.mutate({ mutation: CreateRunTokenDocument, variables: { runId } });
        if (!minted.data) throw new Error('createRunToken returned no data');
        token = minted.data.createRunToken.token;
        why = 'token renewed';
      } else if (events.length === received) {
        throw end.error; // a connection that brought nothing new will not do better next time
      } else {
        why = 'connection lost';
      }
    }
  } finally {
    dispose(client);
  }
}

type FollowEnd = { done: true } | { done: false; expired: boolean; error: unknown };

/**
 * One subscription: resolves when the server completes it, the connection is
 * lost or the run token expires; rejects on other GraphQL errors.
 */
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
          if (CombinedGraphQLErrors.is(error)) {
            const expired = error.errors.some((e) => e.extensions?.['code'] === 'TOKEN_EXPIRED');
            if (expired) resolve({ done: false, expired, error });
            else reject(error);
          } else if (error) resolve({ done: false, expired: false, error });
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
