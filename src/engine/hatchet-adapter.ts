/**
 * The thin adapter between the Hatchet SDK and the gateway's ports (RunSource,
 * WorkflowGateway). It turns SDK objects into plain EngineEvent / RunSnapshot
 * data and engine failures into coded GatewayErrors; it holds no run state.
 *
 * It reads the dispatcher's raw event stream rather than the SDK's listener
 * helper: the helper drops eventIndex and retryCount, cannot be aborted, and
 * turns some engine errors into unhandled rejections (see shared HATCHET.md).
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { ResourceEventType, ResourceType } from '@hatchet-dev/typescript-sdk/protoc/dispatcher/dispatcher.js';
import { ClientError, Status } from 'nice-grpc-common';
import { GatewayError } from '../errors.js';
import type {
  EngineEvent,
  EngineEventType,
  EngineResourceType,
  EngineTaskStatus,
  RunSnapshot,
  TaskSnapshot,
} from '../events/engine-event.js';
import { decodeStreamReceipt, STREAM_RECEIPT_PREFIX, type StreamTotals } from '../frames/stream-control.js';
import type { RunSource, WorkflowGateway } from '../runs/run-source.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the shape of a Hatchet run id. */
export function isRunId(id: string): boolean {
  return uuidPattern.test(id);
}

const resourceTypes: Record<number, EngineResourceType> = {
  [ResourceType.RESOURCE_TYPE_STEP_RUN]: 'STEP_RUN',
  [ResourceType.RESOURCE_TYPE_WORKFLOW_RUN]: 'WORKFLOW_RUN',
};

const eventTypes: Record<number, EngineEventType> = {
  [ResourceEventType.RESOURCE_EVENT_TYPE_STARTED]: 'STARTED',
  [ResourceEventType.RESOURCE_EVENT_TYPE_COMPLETED]: 'COMPLETED',
  [ResourceEventType.RESOURCE_EVENT_TYPE_FAILED]: 'FAILED',
  [ResourceEventType.RESOURCE_EVENT_TYPE_CANCELLED]: 'CANCELLED',
  [ResourceEventType.RESOURCE_EVENT_TYPE_TIMED_OUT]: 'TIMED_OUT',
  [ResourceEventType.RESOURCE_EVENT_TYPE_STREAM]: 'STREAM',
};

/** The SDK's raw dispatcher event, as far as we read it. */
export interface RawWorkflowEvent {
  workflowRunId: string;
  resourceType: number;
  eventType: number;
  resourceId: string;
  eventTimestamp?: Date | undefined;
  eventPayload: string;
  hangup: boolean;
  retryCount?: number | undefined;
  eventIndex?: number | undefined;
}

/** Maps one raw dispatcher event to plain data (pure; used on recorded fixtures too). */
export function toEngineEvent(raw: RawWorkflowEvent): EngineEvent {
  return {
    workflowRunId: raw.workflowRunId,
    resourceType: resourceTypes[raw.resourceType] ?? 'UNKNOWN',
    eventType: eventTypes[raw.eventType] ?? 'UNKNOWN',
    resourceId: raw.resourceId,
    timestamp: raw.eventTimestamp ? raw.eventTimestamp.toISOString() : null,
    payload: raw.eventPayload,
    hangup: raw.hangup,
    retryCount: raw.retryCount ?? null,
    eventIndex: raw.eventIndex ?? null,
  };
}

/** The run's REST details, as far as we read them. */
export interface RawRunDetails {
  workflowConfig?: { Name?: string } | object;
  run: { metadata: { id: string }; status: string; output?: unknown; errorMessage?: string; displayName?: string };
  shape: Array<{ stepId: string; taskExternalId: string; taskName: string }>;
  tasks: Array<{
    taskExternalId: string;
    stepId?: string;
    displayName: string;
    status: string;
    output?: unknown;
    errorMessage?: string;
    attempt?: number;
    retryCount?: number;
    startedAt?: string;
    finishedAt?: string;
    taskInsertedAt?: string;
    taskId?: number;
    workflowName?: string;
  }>;
}

const taskStatuses: ReadonlySet<string> = new Set(['QUEUED', 'RUNNING', 'COMPLETED', 'CANCELLED', 'FAILED']);

function taskStatus(status: string): EngineTaskStatus {
  return (taskStatuses.has(status) ? status : 'RUNNING') as EngineTaskStatus;
}

/** Maps REST run details to a RunSnapshot (pure). */
export function toRunSnapshot(runId: string, details: RawRunDetails): RunSnapshot {
  const namesByStepId = new Map(details.shape.map((s) => [s.stepId, s.taskName]));
  const stepNames: Record<string, string> = {};
  for (const s of details.shape) {
    if (s.taskExternalId && !/^0{8}-/.test(s.taskExternalId)) stepNames[s.taskExternalId] = s.taskName;
  }
  // REST lists the newest task first; the run's story reads oldest first
  const shapeOrder = new Map(details.shape.map((s, i) => [s.stepId, i]));
  const ordered = [...details.tasks].sort(
    (a, b) =>
      (Date.parse(a.taskInsertedAt ?? '') || 0) - (Date.parse(b.taskInsertedAt ?? '') || 0) ||
      (a.taskId ?? 0) - (b.taskId ?? 0) ||
      (shapeOrder.get(a.stepId ?? '') ?? 0) - (shapeOrder.get(b.stepId ?? '') ?? 0),
  );
  const tasks: TaskSnapshot[] = ordered.map((t) => {
    // displayName carries a timestamp suffix ("stream-1795600629878"); the shape has the real name
    const name =
      (t.stepId && namesByStepId.get(t.stepId)) ??
      stepNames[t.taskExternalId] ??
      t.displayName.replace(/-\d{10,}$/, '');
    stepNames[t.taskExternalId] = name;
    return {
      taskId: t.taskExternalId,
      name,
      status: taskStatus(t.status),
      output: t.output ?? null,
      error: t.errorMessage ? t.errorMessage : null,
      attempt: t.attempt ?? (t.retryCount ?? 0) + 1,
      startedAt: t.startedAt ?? null,
      finishedAt: t.finishedAt ?? null,
    };
  });
  const configName = (details.workflowConfig as { Name?: unknown } | undefined)?.Name;
  const workflowName =
    (typeof configName === 'string' ? configName : undefined) ??
    details.tasks.find((t) => t.workflowName)?.workflowName ??
    details.run.displayName ??
    '';
  return {
    runId,
    workflowName: workflowName.replace(/-\d{10,}$/, ''),
    status: taskStatus(details.run.status),
    output: details.run.output ?? null,
    error: details.run.errorMessage ? details.run.errorMessage : null,
    stepNames,
    tasks,
  };
}

/** A task's log line, as far as we read it. */
export interface RawLogLine {
  message: string;
  createdAt: string;
  attempt?: number;
  retryCount?: number;
}

/** The stream receipts among a task's log lines, of one attempt, oldest first (pure). */
export function toStreamReceipts(lines: readonly RawLogLine[], attempt: number): StreamTotals[] {
  return lines
    .filter((line) => (line.attempt ?? (line.retryCount ?? 0) + 1) === attempt)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
    .map((line) => decodeStreamReceipt(line.message))
    .filter((totals): totals is StreamTotals => totals !== undefined);
}

/** REST calls to the engine give up after this long: the SDK's client has no timeout of its own. */
const REST_TIMEOUT_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer from the engine after ${REST_TIMEOUT_MS} ms ${doing}`)),
        REST_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Both ports over one Hatchet client. */
export function createHatchetAdapter(hatchet: HatchetClient): RunSource & WorkflowGateway {
  return {
    async *listen(target, signal) {
      const request =
        'runId' in target
          ? { workflowRunId: target.runId }
          : { additionalMetaKey: target.metadata.key, additionalMetaValue: target.metadata.value };
      try {
        const stream = hatchet.listener.client.subscribeToWorkflowEvents(request, { signal });
        for await (const raw of stream) yield toEngineEvent(raw);
      } catch (error) {
        if (signal.aborted) return;
        throw translate(error, `listening to ${'runId' in target ? `run ${target.runId}` : 'a new run'}`);
      }
    },

    async snapshot(runId) {
      if (!isRunId(runId)) return null;
      try {
        const details = (await withTimeout(hatchet.runs.get(runId), 'reading a run')) as unknown as RawRunDetails;
        return toRunSnapshot(runId, details);
      } catch (error) {
        const status = httpStatus(error);
        if (status === 404 || status === 400) return null;
        throw translate(error, `reading run ${runId}`);
      }
    },

    async streamReceipts(taskId, attempt) {
      try {
        const list = await withTimeout(
          hatchet.logs.list(taskId, { search: STREAM_RECEIPT_PREFIX, limit: 1000 }),
          'reading a task log',
        );
        return toStreamReceipts(list.rows ?? [], attempt);
      } catch (error) {
        const status = httpStatus(error);
        if (status === 404 || status === 400) return [];
        throw translate(error, `reading the log of task ${taskId}`);
      }
    },

    async trigger(workflow, input, additionalMetadata) {
      try {
        const ref = await hatchet.admin.runWorkflow(workflow, input, { additionalMetadata });
        return await ref.getWorkflowRunId();
      } catch (error) {
        if (error instanceof ClientError && error.code === Status.NOT_FOUND) {
          throw new GatewayError('WORKFLOW_NOT_FOUND', `Workflow "${workflow}" is not registered on the engine.`);
        }
        throw translate(error, `triggering ${workflow}`);
      }
    },

    async cancel(runId) {
      try {
        await withTimeout(hatchet.runs.cancel({ ids: [runId] }), 'cancelling a run');
      } catch (error) {
        throw translate(error, `cancelling run ${runId}`);
      }
    },

    async listWorkflows() {
      try {
        const list = await withTimeout(hatchet.workflows.list({ limit: 500 }), 'listing workflows');
        return (list.rows ?? []).map((w) => w.name);
      } catch (error) {
        throw translate(error, 'listing workflows');
      }
    },
  };
}

function httpStatus(error: unknown): number | undefined {
  const response = (error as { response?: { status?: unknown } } | null)?.response;
  return typeof response?.status === 'number' ? response.status : undefined;
}

/** Engine failures become ENGINE_UNAVAILABLE; the cause stays in the logs. */
function translate(error: unknown, doing: string): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError('ENGINE_UNAVAILABLE', `The engine failed while ${doing}.`, { cause: error });
}
