/**
 * The worker kit's counted stream against a fake engine: what a receiver
 * observes (event indexes and payloads, the close frame's totals, the
 * receipt in the task log) when the engine acknowledges, throttles, refuses.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ClientError, Status } from 'nice-grpc-common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeStreamReceipt, type StreamTotals } from '../../src/frames/stream-control.js';
import { type DecodedStreamPayload, decodeStreamPayload } from '../../src/frames/stream-payload.js';
import { type CountedStreamOptions, openCountedStream } from '../../src/worker/counted-stream.js';
import type {
  LogRequest,
  StepStreamContext,
  StreamEventRequest,
  StreamTransport,
} from '../../src/worker/stream-transport.js';

// keeps a leading BOM, as the payload carries it
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const grpcError = (code: Status): ClientError => new ClientError('/EventsService/PutStreamEvent', code, 'fake');

/** How the fake engine answers one attempt: resolve to acknowledge, reject to refuse. */
type Answer<R> = (request: R, attempt: number) => Promise<void> | void;

/** An engine that records what it acknowledged and how many calls were outstanding at once. */
class FakeEngine implements StreamTransport {
  /** Acknowledged events: index to payload. */
  readonly acked = new Map<number, string>();
  readonly attempts = new Map<number, number>();
  readonly logs: LogRequest[] = [];
  logAttempts = 0;
  outstanding = 0;
  maxOutstanding = 0;

  constructor(
    private readonly answerEvent: Answer<StreamEventRequest> = () => {},
    private readonly answerLog: Answer<LogRequest> = () => {},
  ) {}

  async putStreamEvent(request: StreamEventRequest): Promise<unknown> {
    const attempt = (this.attempts.get(request.eventIndex) ?? 0) + 1;
    this.attempts.set(request.eventIndex, attempt);
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    try {
      await this.answerEvent(request, attempt);
    } finally {
      this.outstanding--;
    }
    this.acked.set(request.eventIndex, decoder.decode(request.message));
    return {};
  }

  async putLog(request: LogRequest): Promise<unknown> {
    this.logAttempts++;
    await this.answerLog(request, this.logAttempts);
    this.logs.push(request);
    return {};
  }

  /** What a receiver got, in index order. */
  received(): Array<[number, DecodedStreamPayload]> {
    return [...this.acked.entries()].sort(([a], [b]) => a - b).map(([i, p]) => [i, decodeStreamPayload(p)]);
  }

  /** The text chunks received, in index order. */
  texts(): string[] {
    return this.received().flatMap(([, p]) => (p.kind === 'text' ? [p.text] : []));
  }
}

function stepContext(engine: StreamTransport, streamIndex = 0): StepStreamContext {
  return {
    action: { taskRunExternalId: 'task-run-1', retryCount: 2 },
    v1: { events: { client: engine } },
    streamIndex,
  };
}

/** Retries in milliseconds, so that tests never wait for the real backoff. */
const fast: CountedStreamOptions = { minBackoffMs: 1, maxBackoffMs: 2 };

const text = (value: string): DecodedStreamPayload => ({ kind: 'text', text: value });
const closed = (totals: StreamTotals): DecodedStreamPayload => ({ kind: 'close', ...totals });

/** Lets pending promise callbacks and I/O callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a counted stream', () => {
  it('should send the chunks from index 0 on, and the close frame with their totals right after the last one', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('a');
    await stream.write('bb');
    await stream.write('ccc');
    const totals = await stream.close();
    expect(totals).toEqual({ chunks: 3, bytes: 6, sha256: sha256Of('abbccc') });
    expect(engine.received()).toEqual([
      [0, text('a')],
      [1, text('bb')],
      [2, text('ccc')],
      [3, closed({ chunks: 3, bytes: 6, sha256: sha256Of('abbccc') })],
    ]);
  });

  it('should write the totals to the task log as the receipt, after the close frame was acknowledged', async () => {
    const engine = new FakeEngine(undefined, () => {
      expect(engine.acked.size).toBe(2);
    });
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('hello');
    const totals = await stream.close();
    expect(engine.logs).toEqual([
      {
        taskRunExternalId: 'task-run-1',
        createdAt: expect.any(Date),
        message: encodeStreamReceipt(totals as StreamTotals),
        level: 'INFO',
        metadata: '',
        taskRetryCount: 2,
      },
    ]);
  });

  it('should send each event with the task run id, empty metadata and its event index', async () => {
    const requests: StreamEventRequest[] = [];
    const engine = new FakeEngine((request) => void requests.push(request));
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('x');
    await stream.close();
    expect(requests.map((r) => [r.taskRunExternalId, r.metadata, r.eventIndex, r.createdAt instanceof Date])).toEqual([
      ['task-run-1', '', 0, true],
      ['task-run-1', '', 1, true],
    ]);
  });

  it('should send nothing at all and resolve undefined when nothing was written', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    expect(await stream.close()).toBeUndefined();
    expect(engine.attempts.size).toBe(0);
    expect(engine.logs).toEqual([]);
  });

  it('should count the bytes as UTF-8 and hash the payloads in index order', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('é');
    await stream.write('日本');
    await stream.write('🙂');
    expect(await stream.close()).toEqual({ chunks: 3, bytes: 2 + 6 + 4, sha256: sha256Of('é日本🙂') });
  });

  it('should take a Uint8Array as UTF-8 text', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write(new TextEncoder().encode('\uFEFFbytes ü'));
    const totals = await stream.close();
    expect(engine.texts()).toEqual(['\uFEFFbytes ü']);
    expect(totals).toMatchObject({ bytes: 3 + 8, sha256: sha256Of('\uFEFFbytes ü') });
  });

  it("should take its event indexes from the step's counter, after the indexes the step already used", async () => {
    const engine = new FakeEngine();
    const ctx = stepContext(engine, 3);
    const stream = openCountedStream(ctx, fast);
    await stream.write('late');
    await stream.close();
    expect(engine.received().map(([index]) => index)).toEqual([3, 4]);
    expect(ctx.streamIndex).toBe(5);
  });

  it('should resolve the same totals on every close, and send one close frame', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('once');
    const [first, second] = await Promise.all([stream.close(), stream.close()]);
    expect(second).toEqual(first);
    expect(await stream.close()).toEqual(first);
    expect(engine.received().filter(([, p]) => p.kind === 'close')).toHaveLength(1);
    expect(engine.logs).toHaveLength(1);
  });

  it('should refuse a write after close', async () => {
    const stream = openCountedStream(stepContext(new FakeEngine()), fast);
    await stream.write('x');
    await stream.close();
    await expect(stream.write('y')).rejects.toThrow(/closed/);
  });

  it.each([
    ['maxInFlight', 0],
    ['maxInFlight', 1.5],
    ['maxPayloadBytes', 3],
    ['retryForMs', -1],
  ])('should refuse %s of %s', (name, value) => {
    expect(() => openCountedStream(stepContext(new FakeEngine()), { [name]: value })).toThrow(RangeError);
  });

  it('should refuse a context without the Hatchet client', () => {
    const ctx: StepStreamContext = { action: { taskRunExternalId: 't', retryCount: 0 }, v1: undefined, streamIndex: 0 };
    expect(() => openCountedStream(ctx)).toThrow(/ctx\.v1/);
  });
});

describe('a counted stream splitting long chunks', () => {
  it('should split a chunk over maxPayloadBytes at code point boundaries, into pieces that reassemble to it', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), { ...fast, maxPayloadBytes: 7 });
    // 4-byte emoji and 3-byte CJK straddle every 7-byte boundary
    const long = 'ab🙂c日本語🙂🙂é!';
    await stream.write(long);
    const totals = await stream.close();
    const pieces = engine.texts();
    expect(pieces.join('')).toBe(long);
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(7);
    expect(pieces.every((piece) => !piece.includes('\uFFFD'))).toBe(true);
    expect(totals).toEqual({ chunks: pieces.length, bytes: Buffer.byteLength(long), sha256: sha256Of(long) });
  });

  it('should send a chunk of exactly maxPayloadBytes as one event', async () => {
    const engine = new FakeEngine();
    const stream = openCountedStream(stepContext(engine), { ...fast, maxPayloadBytes: 8 });
    await stream.write('🙂🙂');
    await stream.write('');
    expect(await stream.close()).toMatchObject({ chunks: 2, bytes: 8 });
    expect(engine.texts()).toEqual(['🙂🙂', '']);
  });

  it('should reassemble any text from pieces that each decode on their own', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.integer({ min: 4, max: 24 }),
        async (s, max) => {
          const engine = new FakeEngine();
          const stream = openCountedStream(stepContext(engine), { ...fast, maxPayloadBytes: max });
          await stream.write(s);
          const totals = await stream.close();
          const pieces = [...engine.acked.entries()]
            .sort(([a], [b]) => a - b)
            .slice(0, -1)
            .map(([, payload]) => payload);
          expect(pieces.join('')).toBe(s);
          for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(max);
          expect(totals).toEqual({ chunks: pieces.length, bytes: Buffer.byteLength(s), sha256: sha256Of(s) });
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('a counted stream under backpressure', () => {
  /** An engine that holds every call until the test acknowledges it. */
  function holdingEngine() {
    const held: Array<() => void> = [];
    const engine = new FakeEngine(() => new Promise<void>((resolve) => held.push(resolve)));
    const ackOne = async () => {
      held.shift()?.();
      await settle();
    };
    return { engine, held, ackOne };
  }

  it('should never have more than maxInFlight events outstanding, and resolve a write once its chunk is in flight', async () => {
    const { engine, held, ackOne } = holdingEngine();
    const stream = openCountedStream(stepContext(engine), { ...fast, maxInFlight: 2 });
    const accepted: string[] = [];
    const write = (value: string) => stream.write(value).then(() => void accepted.push(value));
    const writes = [write('a'), write('b'), write('c'), write('d')];
    await settle();
    // 'a' and 'b' fill the window
    expect(engine.outstanding).toBe(2);
    expect(accepted).toEqual(['a', 'b']);
    await ackOne();
    expect(accepted).toEqual(['a', 'b', 'c']);
    expect(engine.outstanding).toBe(2);
    await ackOne();
    expect(accepted).toEqual(['a', 'b', 'c', 'd']);
    await Promise.all(writes);
    const closing = stream.close();
    while (held.length > 0 || engine.acked.size < 5) await ackOne();
    expect(await closing).toMatchObject({ chunks: 4 });
    expect(engine.maxOutstanding).toBe(2);
    expect(engine.texts()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('should start the events in index order, whatever order their acknowledgements come in', async () => {
    const started: number[] = [];
    const held: Array<() => void> = [];
    const engine = new FakeEngine((request) => {
      started.push(request.eventIndex);
      return new Promise<void>((resolve) => held.push(resolve));
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, maxInFlight: 3 });
    const writes = ['a', 'b', 'c', 'd', 'e'].map((value) => stream.write(value));
    await settle();
    // acknowledge the newest first
    while (engine.acked.size < 5) {
      held.pop()?.();
      await settle();
    }
    await Promise.all(writes);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    const closing = stream.close();
    while (engine.acked.size < 6) {
      held.pop()?.();
      await settle();
    }
    expect(await closing).toMatchObject({ chunks: 5 });
  });

  it('should wait in close until every chunk is acknowledged before sending the close frame', async () => {
    const { engine, ackOne } = holdingEngine();
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('a');
    await stream.write('b');
    let done = false;
    const closing = stream.close().then((totals) => {
      done = true;
      return totals;
    });
    await settle();
    expect(engine.attempts.has(2)).toBe(false);
    await ackOne();
    await ackOne();
    // every chunk acknowledged: the close frame is on its way, not yet acknowledged
    expect(engine.attempts.get(2)).toBe(1);
    expect(done).toBe(false);
    await ackOne();
    expect(await closing).toMatchObject({ chunks: 2 });
  });
});

describe('a counted stream when the engine refuses', () => {
  it('should retry a chunk refused with RESOURCE_EXHAUSTED and deliver it once', async () => {
    const onGiveUp = vi.fn();
    const engine = new FakeEngine((request, attempt) => {
      if (request.eventIndex === 0 && attempt < 3) throw grpcError(Status.RESOURCE_EXHAUSTED);
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, onGiveUp });
    await stream.write('throttled');
    await stream.write('next');
    await stream.close();
    expect(engine.attempts.get(0)).toBe(3);
    expect(engine.texts()).toEqual(['throttled', 'next']);
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it.each(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED', 'INTERNAL'] as const)(
    'should retry a chunk refused with %s',
    async (name) => {
      const code = Status[name];
      const engine = new FakeEngine((request, attempt) => {
        if (request.eventIndex === 0 && attempt === 1) throw grpcError(code);
      });
      const stream = openCountedStream(stepContext(engine), fast);
      await stream.write('again');
      await stream.close();
      expect(engine.attempts.get(0)).toBe(2);
      expect(engine.texts()).toEqual(['again']);
    },
  );

  it('should give a chunk up at once on another error, count it in the totals and report it', async () => {
    const onGiveUp = vi.fn();
    const refusal = grpcError(Status.INVALID_ARGUMENT);
    const engine = new FakeEngine((request) => {
      if (request.eventIndex === 1) throw refusal;
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, onGiveUp });
    await stream.write('a');
    await stream.write('lost');
    await stream.write('c');
    const totals = await stream.close();
    expect(engine.attempts.get(1)).toBe(1);
    expect(onGiveUp).toHaveBeenCalledExactlyOnceWith(refusal, 1);
    // the receiver sees the hole at index 1, and a close frame that counts it
    expect(engine.received()).toEqual([
      [0, text('a')],
      [2, text('c')],
      [3, closed({ chunks: 3, bytes: 6, sha256: sha256Of('alostc') })],
    ]);
    expect(totals).toEqual({ chunks: 3, bytes: 6, sha256: sha256Of('alostc') });
  });

  it('should give a chunk up once retryable refusals last longer than retryForMs', async () => {
    const onGiveUp = vi.fn();
    const engine = new FakeEngine((request) => {
      if (request.eventIndex === 0) throw grpcError(Status.UNAVAILABLE);
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, retryForMs: 20, onGiveUp });
    await stream.write('never');
    const totals = await stream.close();
    expect(engine.attempts.get(0)).toBeGreaterThan(1);
    expect(onGiveUp).toHaveBeenCalledExactlyOnceWith(expect.any(ClientError), 0);
    expect(totals).toMatchObject({ chunks: 1, bytes: 5 });
  });

  it('should give up an error that is not a gRPC status at once', async () => {
    const onGiveUp = vi.fn();
    const engine = new FakeEngine((request) => {
      if (request.eventIndex === 0) throw new Error('socket hang up');
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, onGiveUp });
    await stream.write('x');
    await stream.close();
    expect(engine.attempts.get(0)).toBe(1);
    expect(onGiveUp).toHaveBeenCalledOnce();
  });

  it('should retry the close frame and the receipt as well', async () => {
    const engine = new FakeEngine(
      (request, attempt) => {
        if (request.eventIndex === 1 && attempt === 1) throw grpcError(Status.UNAVAILABLE);
      },
      (_request, attempt) => {
        if (attempt === 1) throw grpcError(Status.RESOURCE_EXHAUSTED);
      },
    );
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('x');
    const totals = await stream.close();
    expect(engine.attempts.get(1)).toBe(2);
    expect(engine.received().at(-1)).toEqual([1, closed(totals as StreamTotals)]);
    expect(engine.logs.map((log) => log.message)).toEqual([encodeStreamReceipt(totals as StreamTotals)]);
  });

  it('should report a receipt it could not write, and still resolve the totals', async () => {
    const onReceiptLost = vi.fn();
    const refusal = grpcError(Status.PERMISSION_DENIED);
    const engine = new FakeEngine(undefined, () => {
      throw refusal;
    });
    const stream = openCountedStream(stepContext(engine), { ...fast, onReceiptLost });
    await stream.write('x');
    expect(await stream.close()).toMatchObject({ chunks: 1 });
    expect(onReceiptLost).toHaveBeenCalledExactlyOnceWith(refusal);
  });

  it('should carry on when the give-up reporter throws', async () => {
    const engine = new FakeEngine((request) => {
      if (request.eventIndex === 0) throw grpcError(Status.NOT_FOUND);
    });
    const onGiveUp = () => {
      throw new Error('reporter broke');
    };
    const stream = openCountedStream(stepContext(engine), { ...fast, onGiveUp });
    await stream.write('x');
    await stream.write('y');
    expect(await stream.close()).toMatchObject({ chunks: 2 });
    expect(engine.texts()).toEqual(['y']);
  });

  it('should warn on one console line by default when it gives a chunk up or loses the receipt', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const engine = new FakeEngine(
      (request) => {
        if (request.eventIndex === 0) throw new ClientError('/x', Status.INVALID_ARGUMENT, 'two\nlines');
      },
      () => {
        throw grpcError(Status.PERMISSION_DENIED);
      },
    );
    const stream = openCountedStream(stepContext(engine), fast);
    await stream.write('x');
    await stream.close();
    expect(warn).toHaveBeenCalledTimes(2);
    const lines = warn.mock.calls.map(([line]) => String(line));
    expect(lines[0]).toMatch(/event 0/);
    expect(lines[1]).toMatch(/receipt/);
    for (const line of lines) expect(line).not.toContain('\n');
  });
});
