/**
 * The ports the run machinery needs from an engine. The Hatchet adapter
 * (src/engine/hatchet-adapter.ts) implements them; unit tests of pure code may
 * use a stub, integration tests use the real engine.
 */
import type { EngineEvent, RunSnapshot } from '../events/engine-event.js';

export interface RunSource {
  /**
   * The engine's live events for a run, until the engine hangs up or `signal`
   * aborts. Throws GatewayError(ENGINE_UNAVAILABLE) when the engine cannot be reached.
   */
  listen(runId: string, signal: AbortSignal): AsyncIterable<EngineEvent>;
  /** The run's REST state; null when the engine does not know the run. */
  snapshot(runId: string): Promise<RunSnapshot | null>;
}

export interface WorkflowGateway {
  /** Triggers a workflow and resolves to the new run's id. */
  trigger(workflow: string, input: Record<string, unknown>, additionalMetadata: Record<string, string>): Promise<string>;
  cancel(runId: string): Promise<void>;
  /** Names of the workflows registered on the engine. */
  listWorkflows(): Promise<string[]>;
}
