/**
 * The ports the run machinery needs from an engine. The Hatchet adapter
 * (src/engine/hatchet-adapter.ts) implements them; unit tests of pure code may
 * use a stub, integration tests use the real engine.
 */
import type { EngineEvent, RunSnapshot } from '../events/engine-event.js';
import type { StreamTotals } from '../frames/stream-control.js';

/** What to listen to: one run by id, or the runs carrying one additional-metadata pair. */
export type ListenTarget =
  | { readonly runId: string }
  | { readonly metadata: { readonly key: string; readonly value: string } };

export interface RunSource {
  /**
   * The engine's live events for the target, until the engine hangs up or
   * `signal` aborts. Throws GatewayError(ENGINE_UNAVAILABLE) when the engine
   * cannot be reached. Listening by metadata needs no run to exist yet, so it
   * can start before the trigger and miss nothing of the run's start.
   */
  listen(target: ListenTarget, signal: AbortSignal): AsyncIterable<EngineEvent>;
  /** The run's REST state; null when the engine does not know the run. */
  snapshot(runId: string): Promise<RunSnapshot | null>;
  /**
   * The receipts (stream totals) the worker kit wrote to a task's log for
   * one attempt, oldest first: one per counted stream the attempt closed.
   * Empty when there are none (a step without the kit, or logs turned off).
   */
  streamReceipts(taskId: string, attempt: number): Promise<StreamTotals[]>;
}

export interface WorkflowGateway {
  /** Triggers a workflow and resolves to the new run's id. */
  trigger(
    workflow: string,
    input: Record<string, unknown>,
    additionalMetadata: Record<string, string>,
  ): Promise<string>;
  cancel(runId: string): Promise<void>;
  /** Names of the workflows registered on the engine. */
  listWorkflows(): Promise<string[]>;
}
