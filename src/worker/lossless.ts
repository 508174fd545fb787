/**
 * One-line adoption of the counted stream: inside a step run through
 * lossless, `ctx.putStream` writes to the step's counted stream, which is
 * closed (close frame and receipt) before the step's result or error reaches
 * the engine, so that no chunk is sent after the step finished.
 *
 * Two shapes of the same thing. `lossless(fn)` wraps a task function; it
 * infers its types only where the expected function type is concrete
 * (`hatchet.task<I, O>({ fn })`, annotated parameters). `workflow.task` and
 * `durableTask` take `fn` as a type parameter of their own, through which
 * TypeScript cannot infer a wrapper's types: there,
 * `fn: (input, ctx) => lossless(ctx, async () => ...)` types exactly as a
 * plain `fn` does.
 */
import { type CountedStream, type CountedStreamOptions, openCountedStream } from './counted-stream.js';
import type { StepStreamContext } from './stream-transport.js';

/** The part of a step context (`Context`, `DurableContext`) that lossless needs. */
export interface LosslessContext extends StepStreamContext {
  putStream(data: string | Uint8Array): Promise<void>;
}

const streams = new WeakMap<object, CountedStream>();

/** Wraps a task function so that its step's stream is counted and closed before it returns or throws. */
export function lossless<I, O, C extends LosslessContext>(
  fn: (input: I, ctx: C) => O | Promise<O>,
  options?: CountedStreamOptions,
): (input: I, ctx: C) => Promise<O>;
/** Runs a step's body with the step's stream counted, and closed before this resolves or rejects. */
export function lossless<O>(
  ctx: LosslessContext,
  body: () => O | Promise<O>,
  options?: CountedStreamOptions,
): Promise<O>;
export function lossless(
  fnOrCtx: ((input: unknown, ctx: LosslessContext) => unknown) | LosslessContext,
  bodyOrOptions?: (() => unknown) | CountedStreamOptions,
  options?: CountedStreamOptions,
): unknown {
  if (typeof fnOrCtx === 'function') {
    const fn = fnOrCtx;
    const wrapperOptions = typeof bodyOrOptions === 'function' ? undefined : bodyOrOptions;
    return (input: unknown, ctx: LosslessContext) => runCounted(ctx, () => fn(input, ctx), wrapperOptions);
  }
  if (typeof bodyOrOptions !== 'function') throw new TypeError('lossless(ctx, body): body must be a function');
  return runCounted(fnOrCtx, bodyOrOptions, options);
}

/** The step's counted stream while its task runs through lossless, else undefined. */
export function countedStreamOf(ctx: object): CountedStream | undefined {
  return streams.get(ctx);
}

async function runCounted<O>(
  ctx: LosslessContext,
  body: () => O | Promise<O>,
  options: CountedStreamOptions | undefined,
): Promise<O> {
  // nested on the same step: the outer run owns the stream and closes it
  if (streams.has(ctx)) return body();
  const stream = openCountedStream(ctx, options);
  streams.set(ctx, stream);
  ctx.putStream = (data) => stream.write(data);
  try {
    return await body();
  } finally {
    // close() never rejects: the engine gets the step's own result or error
    await stream.close();
    streams.delete(ctx);
  }
}
