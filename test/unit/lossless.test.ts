/**
 * lossless, the one-line adoption of the counted stream: what the engine
 * receives from a wrapped step, and when, relative to the step's own result.
 */
import { createHash } from 'node:crypto';
import { ClientError, Status } from 'nice-grpc-common';
import { describe, expect, it, vi } from 'vitest';
import { type DecodedStreamPayload, decodeStreamPayload } from '../../src/frames/stream-payload.js';
import { countedStreamOf, type LosslessContext, lossless } from '../../src/worker/lossless.js';
import type { LogRequest, StreamEventRequest, StreamTransport } from '../../src/worker/stream-transport.js';

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** An engine that acknowledges at once, unless `hold` keeps an event's call open. */
class FakeEngine implements StreamTransport {
  readonly acked = new Map<number, string>();
  readonly logs: string[] = [];
  readonly held = new Map<number, () => void>();

  constructor(
    private readonly hold: (payload: DecodedStreamPayload) => boolean = () => false,
    private readonly refuse: (index: number) => boolean = () => false,
  ) {}

  async putStreamEvent(request: StreamEventRequest): Promise<unknown> {
    const payload = decoder.decode(request.message);
    if (this.refuse(request.eventIndex)) throw new ClientError('/x', Status.INVALID_ARGUMENT, 'refused');
    if (this.hold(decodeStreamPayload(payload))) {
      await new Promise<void>((resolve) => this.held.set(request.eventIndex, resolve));
    }
    this.acked.set(request.eventIndex, payload);
    return {};
  }

  async putLog(request: LogRequest): Promise<unknown> {
    this.logs.push(request.message);
    return {};
  }

  received(): DecodedStreamPayload[] {
    return [...this.acked.entries()].sort(([a], [b]) => a - b).map(([, p]) => decodeStreamPayload(p));
  }
}

/** A step context whose own (the SDK's) putStream records what reached it. */
function stepContext(engine: StreamTransport): LosslessContext & { readonly sdkWrites: unknown[] } {
  const sdkWrites: unknown[] = [];
  return {
    action: { taskRunExternalId: 'task-run-1', retryCount: 0 },
    v1: { events: { client: engine } },
    streamIndex: 0,
    sdkWrites,
    async putStream(data) {
      sdkWrites.push(data);
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const text = (value: string): DecodedStreamPayload => ({ kind: 'text', text: value });

describe('lossless(fn)', () => {
  it("should send the step's putStream writes on a counted stream, and close it when the function returns", async () => {
    const engine = new FakeEngine();
    const ctx = stepContext(engine);
    const task = lossless(async (input: { name: string }, step: LosslessContext) => {
      await step.putStream('hello ');
      await step.putStream(input.name);
      return { greeted: input.name };
    });
    expect(await task({ name: 'Ada' }, ctx)).toEqual({ greeted: 'Ada' });
    expect(ctx.sdkWrites).toEqual([]);
    expect(engine.received()).toEqual([
      text('hello '),
      text('Ada'),
      { kind: 'close', chunks: 2, bytes: 9, sha256: sha256Of('hello Ada') },
    ]);
    expect(engine.logs).toHaveLength(1);
  });

  it('should not return before the close frame is acknowledged', async () => {
    const engine = new FakeEngine((payload) => payload.kind === 'close');
    const task = lossless(async (_input: unknown, step: LosslessContext) => {
      await step.putStream('x');
      return 'done';
    });
    let returned = false;
    const running = task({}, stepContext(engine)).then((value) => {
      returned = true;
      return value;
    });
    await settle();
    expect(engine.held.has(1)).toBe(true);
    expect(returned).toBe(false);
    engine.held.get(1)?.();
    expect(await running).toBe('done');
  });

  it('should close the stream, then rethrow the same error, when the function throws', async () => {
    const engine = new FakeEngine((payload) => payload.kind === 'close');
    const failure = new Error('step failed');
    const task = lossless(async (_input: unknown, step: LosslessContext) => {
      await step.putStream('partial');
      throw failure;
    });
    let settled = false;
    const running = task({}, stepContext(engine)).finally(() => {
      settled = true;
    });
    running.catch(() => {});
    await settle();
    expect(settled).toBe(false);
    engine.held.get(1)?.();
    await expect(running).rejects.toBe(failure);
    expect(engine.received()).toEqual([
      text('partial'),
      { kind: 'close', chunks: 1, bytes: 7, sha256: sha256Of('partial') },
    ]);
  });

  it('should send nothing when the function wrote nothing', async () => {
    const engine = new FakeEngine();
    const task = lossless(async () => 42);
    expect(await task({}, stepContext(engine))).toBe(42);
    expect(engine.acked.size).toBe(0);
    expect(engine.logs).toEqual([]);
  });

  it('should not fail the step when a chunk is given up, and count it in the close frame', async () => {
    const engine = new FakeEngine(undefined, (index) => index === 0);
    const onGiveUp = vi.fn();
    const task = lossless(
      async (_input: unknown, step: LosslessContext) => {
        await step.putStream('lost');
        await step.putStream('kept');
        return 'ok';
      },
      { onGiveUp },
    );
    expect(await task({}, stepContext(engine))).toBe('ok');
    expect(onGiveUp).toHaveBeenCalledExactlyOnceWith(expect.any(ClientError), 0);
    expect(engine.received()).toEqual([
      text('kept'),
      { kind: 'close', chunks: 2, bytes: 8, sha256: sha256Of('lostkept') },
    ]);
  });
});

describe('lossless(ctx, body)', () => {
  it("should run the body on the step's counted stream and resolve its value once the stream is closed", async () => {
    const engine = new FakeEngine();
    const ctx = stepContext(engine);
    const value = await lossless(ctx, async () => {
      await ctx.putStream('in body');
      return { ok: true };
    });
    expect(value).toEqual({ ok: true });
    expect(engine.received()).toEqual([
      text('in body'),
      { kind: 'close', chunks: 1, bytes: 7, sha256: sha256Of('in body') },
    ]);
  });

  it('should rethrow the same error after closing', async () => {
    const engine = new FakeEngine();
    const ctx = stepContext(engine);
    const failure = new Error('boom');
    await expect(
      lossless(ctx, async () => {
        await ctx.putStream('x');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(engine.received().at(-1)).toMatchObject({ kind: 'close', chunks: 1 });
  });

  it('should use one stream when nested on the same step', async () => {
    const engine = new FakeEngine();
    const ctx = stepContext(engine);
    await lossless(ctx, async () => {
      await ctx.putStream('outer');
      await lossless(ctx, async () => ctx.putStream('inner'));
      await ctx.putStream('after');
    });
    expect(engine.received()).toEqual([
      text('outer'),
      text('inner'),
      text('after'),
      { kind: 'close', chunks: 3, bytes: 15, sha256: sha256Of('outerinnerafter') },
    ]);
  });
});

describe('countedStreamOf', () => {
  it("should give the step's counted stream while the task runs through lossless, and undefined otherwise", async () => {
    const ctx = stepContext(new FakeEngine());
    expect(countedStreamOf(ctx)).toBeUndefined();
    const seen = await lossless(ctx, async () => countedStreamOf(ctx));
    expect(seen).toBeDefined();
    expect(countedStreamOf(ctx)).toBeUndefined();
    expect(countedStreamOf(stepContext(new FakeEngine()))).toBeUndefined();
  });
});
