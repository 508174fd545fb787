/**
 * The `WorkflowRunEvent` union, its `RunEvent` interface, and the
 * `workflowRunEvents` subscription that streams a run's log.
 */
import { GraphQLError } from 'graphql';
import { assertCanRead, principalName } from '../auth/principal.js';
import { endingAt, releasing } from '../auth/stream-guards.js';
import { GatewayError } from '../errors.js';
import {
  assertNever,
  type FileChunkBody,
  type RunEvent,
  type RunStatusBody,
  type StepOutputBody,
  type StepStatusBody,
  type StreamChunkBody,
  type StreamGapBody,
} from '../events/run-event.js';
import type { FollowItem } from '../runs/follow-run.js';
import { builder } from './builder.js';
import { RunStatusEnum, StepStatusEnum } from './enums.js';
import { assertRunId } from './workflow-run.js';

type Stored<B> = B & Pick<RunEvent, 'runId' | 'seq' | 'cursor' | 'at'>;

const RunEventInterface = builder.interfaceRef<RunEvent>('RunEvent').implement({
  description: 'What every event of a run has: its place in the run log and when it happened.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      description:
        "The event's position in the run log, opaque. Pass the last cursor you processed as `after` to resume without gap or duplicate.",
    }),
    runId: t.exposeID('runId', { description: 'The run this event belongs to.' }),
    at: t.field({
      type: 'DateTime',
      description: 'When it happened (engine time when the engine gave one).',
      resolve: (e) => e.at,
    }),
  }),
});

const attemptDescription =
  'The attempt this belongs to, from 1. When a step is retried, its events start again with attempt + 1; chunks with a lower attempt than the latest StepStatusEvent of the step came from a failed attempt.';

const StepStatusEvent = builder.objectRef<Stored<StepStatusBody>>('StepStatusEvent').implement({
  description:
    "A step's status changed. Per attempt, statuses only move forward and each is said once: QUEUED, STARTED, then COMPLETED, FAILED, CANCELLED or TIMED_OUT. Every attempt starts with QUEUED; STARTED precedes every terminal status but CANCELLED (a queued step can be cancelled).",
  interfaces: [RunEventInterface],
  fields: (t) => ({
    stepId: t.exposeID('stepId', { description: 'The step run id (stable across attempts).' }),
    stepName: t.exposeString('stepName', { description: "The step's name in the workflow definition." }),
    status: t.field({ type: StepStatusEnum, description: 'The new status.', resolve: (e) => e.status }),
    error: t.exposeString('error', {
      nullable: true,
      description: "The worker's error message when FAILED (never its stack).",
    }),
    attempt: t.exposeInt('attempt', { nullable: true, description: attemptDescription }),
  }),
});

const StepOutputEvent = builder.objectRef<Stored<StepOutputBody>>('StepOutputEvent').implement({
  description: 'What a step returned; follows its COMPLETED status.',
  interfaces: [RunEventInterface],
  fields: (t) => ({
    stepId: t.exposeID('stepId', { description: 'The step run id.' }),
    stepName: t.exposeString('stepName', { description: "The step's name in the workflow definition." }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: "The step's return value.",
      resolve: (e) => e.output,
    }),
    attempt: t.exposeInt('attempt', { nullable: true, description: attemptDescription }),
  }),
});

const StreamChunkEvent = builder.objectRef<Stored<StreamChunkBody>>('StreamChunkEvent').implement({
  description: 'Text a step streamed with `ctx.putStream`, in the order the step sent it.',
  interfaces: [RunEventInterface],
  fields: (t) => ({
    stepId: t.exposeID('stepId', { description: 'The step run id.' }),
    stepName: t.exposeString('stepName', { description: "The step's name in the workflow definition." }),
    data: t.exposeString('data', { description: 'The chunk, as sent.' }),
    attempt: t.exposeInt('attempt', { nullable: true, description: attemptDescription }),
  }),
});

const FileChunkEvent = builder.objectRef<Stored<FileChunkBody>>('FileChunkEvent').implement({
  description:
    "One chunk of a file a step streamed with the gateway's `putFile` helper. Chunks of a file share `fileId`; reassemble `count` chunks by `index` and check `size` and `sha256`.",
  interfaces: [RunEventInterface],
  fields: (t) => ({
    stepId: t.exposeID('stepId', { description: 'The step run id.' }),
    stepName: t.exposeString('stepName', { description: "The step's name in the workflow definition." }),
    fileId: t.exposeID('fileId', { description: 'Identifies the file within the run.' }),
    name: t.exposeString('name', { description: 'File name given by the step.' }),
    mimeType: t.exposeString('mimeType', { description: 'Media type given by the step.' }),
    index: t.exposeInt('index', { description: 'Position of this chunk, from 0.' }),
    count: t.exposeInt('count', { description: 'Number of chunks of the file (1 for an empty file).' }),
    size: t.exposeInt('size', { description: 'Size of the whole file in bytes.' }),
    sha256: t.exposeString('sha256', { description: 'Lower-case hex SHA-256 of the whole file.' }),
    data: t.exposeString('data', { description: "Base64 of this chunk's bytes only." }),
    attempt: t.exposeInt('attempt', { nullable: true, description: attemptDescription }),
  }),
});

const StreamGapEvent = builder.objectRef<Stored<StreamGapBody>>('StreamGapEvent').implement({
  description:
    'Stream chunks of a step were lost before the gateway could record them (the engine keeps no stream history). Statuses and outputs are never lost: the gateway reconciles them from the engine.',
  interfaces: [RunEventInterface],
  fields: (t) => ({
    stepId: t.exposeID('stepId', { description: 'The step run id.' }),
    stepName: t.exposeString('stepName', { description: "The step's name in the workflow definition." }),
    missedChunks: t.exposeInt('missedChunks', {
      nullable: true,
      description: "How many chunks were lost, when the engine's chunk index tells; null when unknown.",
    }),
    reason: t.exposeString('reason', { description: 'Why, in words.' }),
    attempt: t.exposeInt('attempt', { nullable: true, description: attemptDescription }),
  }),
});

const RunStatusEvent = builder.objectRef<Stored<RunStatusBody>>('RunStatusEvent').implement({
  description:
    "The run's terminal status: always the last event of a subscription, exactly once, with the run's output or error; the subscription completes after it.",
  interfaces: [RunEventInterface],
  fields: (t) => ({
    status: t.field({
      type: RunStatusEnum,
      description: 'COMPLETED, FAILED, CANCELLED or TIMED_OUT.',
      resolve: (e) => e.status,
    }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The run output when COMPLETED.',
      resolve: (e) => e.output,
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why the run failed, when FAILED.' }),
  }),
});

export const WorkflowRunEventUnion = builder.unionType('WorkflowRunEvent', {
  description: 'Anything that happens in a workflow run. Switch on `__typename`.',
  types: [StepStatusEvent, StepOutputEvent, StreamChunkEvent, FileChunkEvent, StreamGapEvent, RunStatusEvent],
  resolveType: (event: RunEvent) => {
    switch (event.kind) {
      case 'StepStatus':
        return 'StepStatusEvent';
      case 'StepOutput':
        return 'StepOutputEvent';
      case 'StreamChunk':
        return 'StreamChunkEvent';
      case 'FileChunk':
        return 'FileChunkEvent';
      case 'StreamGap':
        return 'StreamGapEvent';
      case 'RunStatus':
        return 'RunStatusEvent';
      default:
        return assertNever(event);
    }
  },
});

builder.subscriptionField('workflowRunEvents', (t) =>
  t.field({
    type: WorkflowRunEventUnion,
    description:
      "Follows a run: first the events already recorded (after `after`, or from the run's start), then live events, in the engine's order, and completes after the run's terminal RunStatusEvent. A run that already finished replays its recorded history, or its final state reconciled from the engine, then completes.",
    args: {
      runId: t.arg.id({ required: true, description: 'The run to follow.' }),
      after: t.arg.string({ description: 'Resume after this cursor (from an earlier event of the same run).' }),
    },
    subscribe: async (_root, { runId, after }, ctx) => {
      const { principal, auth } = ctx;
      assertCanRead(principal, String(runId));
      assertRunId(String(runId));
      // over HTTP only SSE streams a subscription; any other answer (yoga's 406) would never end
      // the stream, and its connection slot and run reader would leak
      if (ctx.transport === 'http' && !ctx.request?.headers.get('accept')?.includes('text/event-stream')) {
        throw new GatewayError(
          'BAD_REQUEST',
          'Subscriptions need graphql-ws, or SSE over HTTP (Accept: text/event-stream).',
        );
      }
      // an SSE stream is a connection of its own (graphql-ws counted its socket at connect)
      const release =
        ctx.transport === 'http' && principal.kind !== 'open'
          ? auth.connections.acquire(principalName(principal))
          : () => {};
      if (!release) throw auth.connections.error();
      let events: AsyncIterableIterator<FollowItem>;
      try {
        events = await ctx.runs.follow(String(runId), after);
      } catch (error) {
        release();
        throw error;
      }
      events = releasing(events, release);
      if (principal.kind !== 'run') return events;
      return endingAt(
        events,
        principal.expiresAt,
        (): FollowItem => ({
          kind: 'Interrupted',
          error: new GatewayError(
            'TOKEN_EXPIRED',
            'The run token of this subscription expired: resume with a fresh token (createRunToken) and your last cursor.',
          ),
        }),
        // after the run's terminal event the stream only completes: no expiry after the end
        (item) => item.kind === 'RunStatus',
      );
    },
    resolve: (item: FollowItem) => {
      if (item.kind === 'Interrupted') {
        throw new GraphQLError(item.error.message, { extensions: { code: item.error.code } });
      }
      return item;
    },
  }),
);
