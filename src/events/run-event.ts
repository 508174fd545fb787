/**
 * The gateway's own vocabulary for what happens in a workflow run: the body of
 * every member of the GraphQL `WorkflowRunEvent` union, before the run log gives
 * it a position (`seq`) and a `cursor`. Pure types, no engine or transport.
 */

export const stepStatuses = ['QUEUED', 'STARTED', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export type StepStatus = (typeof stepStatuses)[number];

export const runStatuses = ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
export type RunStatus = (typeof runStatuses)[number];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface StepRef {
  readonly stepId: string;
  readonly stepName: string;
  /** 1 for the first attempt, 2 after the first retry, and so on. */
  readonly attempt: number;
}

export interface StepStatusBody extends StepRef {
  readonly kind: 'StepStatus';
  readonly status: StepStatus;
  readonly error: string | null;
}

export interface StepOutputBody extends StepRef {
  readonly kind: 'StepOutput';
  readonly output: Json;
}

export interface StreamChunkBody extends StepRef {
  readonly kind: 'StreamChunk';
  readonly data: string;
}

export interface FileChunkBody extends StepRef {
  readonly kind: 'FileChunk';
  readonly fileId: string;
  readonly name: string;
  readonly mimeType: string;
  readonly index: number;
  readonly count: number;
  readonly size: number;
  readonly sha256: string;
  readonly data: string;
}

/** Says that stream chunks were lost upstream, and how many when the engine lets us count them. */
export interface StreamGapBody extends StepRef {
  readonly kind: 'StreamGap';
  /** Number of chunks lost, when known from the engine's per-step chunk index. */
  readonly missedChunks: number | null;
  readonly reason: string;
}

export interface RunStatusBody {
  readonly kind: 'RunStatus';
  readonly status: RunStatus;
  readonly output: Json | null;
  readonly error: string | null;
}

export type RunEventBody =
  | StepStatusBody
  | StepOutputBody
  | StreamChunkBody
  | FileChunkBody
  | StreamGapBody
  | RunStatusBody;

/** An event as the run log stores and clients receive it. */
export type RunEvent = RunEventBody & {
  readonly runId: string;
  /** Position in the run's log, from 1. */
  readonly seq: number;
  readonly cursor: string;
  readonly at: Date;
};

export const terminalRunStatuses: ReadonlySet<RunStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);
export const terminalStepStatuses: ReadonlySet<StepStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
