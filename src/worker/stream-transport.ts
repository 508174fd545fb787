/**
 * The two engine calls a counted stream makes, behind a structural interface
 * so that tests can stand in for the engine. Built from a step's context: the
 * raw gRPC client of the worker's Hatchet client, not the SDK's wrappers,
 * whose promises resolve before the engine has the event and which drop an
 * event after their own retries with only a log line.
 */

/** A stream event, as the engine's PutStreamEvent takes it. */
export interface StreamEventRequest {
  readonly taskRunExternalId: string;
  readonly createdAt: Date;
  /** UTF-8 of the payload. */
  readonly message: Uint8Array;
  readonly metadata: string;
  readonly eventIndex: number;
}

/** A task log line, as the engine's PutLog takes it. */
export interface LogRequest {
  readonly taskRunExternalId: string;
  readonly createdAt: Date;
  readonly message: string;
  readonly level: 'INFO';
  readonly metadata: string;
  readonly taskRetryCount: number;
}

/** Sends one event or log line; resolves once the engine acknowledged it. */
export interface StreamTransport {
  putStreamEvent(request: StreamEventRequest): Promise<unknown>;
  putLog(request: LogRequest): Promise<unknown>;
}

/**
 * The part of a Hatchet step context (`Context`, `DurableContext`) the kit
 * uses. `streamIndex` is the SDK's per-step event counter: the kit takes its
 * event indexes from it, so that a plain `ctx.putStream` elsewhere in the step
 * never reuses an index, which the gateway would drop as a duplicate.
 */
export interface StepStreamContext {
  readonly action: { readonly taskRunExternalId: string; readonly retryCount: number };
  readonly v1: { readonly events: { readonly client: StreamTransport } } | undefined;
  streamIndex: number;
}

/** The engine's events client of the step's Hatchet client. */
export function streamTransportOf(ctx: StepStreamContext): StreamTransport {
  // a context made by a runtime without a client has no v1 (see the SDK's ContextRuntime)
  const client = ctx.v1?.events.client;
  if (!client) throw new Error('counted streams need the Hatchet client of the worker (ctx.v1), which is not set');
  return {
    putStreamEvent: (request) => client.putStreamEvent(request),
    putLog: (request) => client.putLog(request),
  };
}
