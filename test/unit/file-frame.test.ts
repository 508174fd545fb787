/** The file frame wire format, and the worker helper that streams files with it. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFileFrame, FILE_FRAME_PREFIX, type FileFrameHeader } from '../../src/frames/file-frame.js';
import { type DecodedStreamPayload, decodeStreamPayload } from '../../src/frames/stream-payload.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../../src/worker/counted-stream.js';
import { type LosslessContext, lossless } from '../../src/worker/lossless.js';
import { DEFAULT_FILE_CHUNK_BYTES, putFile } from '../../src/worker/put-file.js';
import type { LogRequest, StreamEventRequest, StreamTransport } from '../../src/worker/stream-transport.js';

const sha256Of = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

const header: FileFrameHeader = {
  fileId: 'file-1',
  name: 'report.pdf',
  mimeType: 'application/pdf',
  index: 1,
  count: 3,
  size: 7000,
  sha256: sha256Of('whatever'),
};

/** A frame with an arbitrary header text and data, for the malformed cases. */
const rawFrame = (headerText: string, data = 'AAAA'): string => `${FILE_FRAME_PREFIX}${headerText}\n${data}`;
const frameWith = (fields: Record<string, unknown>, data = 'AAAA'): string =>
  rawFrame(JSON.stringify({ ...header, ...fields }), data);
const frameWithout = (key: keyof FileFrameHeader): string => {
  const { [key]: _dropped, ...rest } = header;
  return rawFrame(JSON.stringify(rest));
};

function expectMalformed(decoded: DecodedStreamPayload, reason: RegExp): void {
  expect(decoded.kind).toBe('malformed');
  if (decoded.kind !== 'malformed') return;
  expect(decoded.reason).toMatch(reason);
}

describe('encodeFileFrame / decodeStreamPayload', () => {
  it('should decode an encoded frame to the same header and data', () => {
    const data = Buffer.from('hello, file').toString('base64');
    expect(decodeStreamPayload(encodeFileFrame(header, data))).toEqual({ kind: 'file', header, data });
  });

  it('should round-trip a frame with empty data (an empty file)', () => {
    const empty = { ...header, index: 0, count: 1, size: 0, sha256: sha256Of('') };
    expect(decodeStreamPayload(encodeFileFrame(empty, ''))).toEqual({ kind: 'file', header: empty, data: '' });
  });

  it('should round-trip names with newlines, quotes and unicode', () => {
    const odd = { ...header, name: 'a\nb "c" é.txt', mimeType: 'text/plain; charset=utf-8' };
    expect(decodeStreamPayload(encodeFileFrame(odd, 'QQ=='))).toEqual({ kind: 'file', header: odd, data: 'QQ==' });
  });

  it('should start every frame with the reserved prefix', () => {
    expect(encodeFileFrame(header, '').startsWith(FILE_FRAME_PREFIX)).toBe(true);
    expect(FILE_FRAME_PREFIX.startsWith('\u0000')).toBe(true);
  });
});

describe('decodeStreamPayload on text', () => {
  it.each([
    ['plain text', 'hello'],
    ['the empty string', ''],
    ['text with newlines', 'line one\nline two\n'],
    ['JSON text', '{"fileId":"x"}'],
    ['the prefix without its NUL', 'hatchet-file/1\n{}\nAAAA'],
    ['a NUL not followed by the prefix', '\u0000hello\n'],
    ['another version of the prefix', '\u0000hatchet-file/2\n{}\nAAAA'],
  ])('should decode %s as text', (_label, payload) => {
    expect(decodeStreamPayload(payload)).toEqual({ kind: 'text', text: payload });
  });
});

describe('decodeStreamPayload on malformed frames', () => {
  it('should reject a frame without a header terminator', () => {
    expectMalformed(decodeStreamPayload(`${FILE_FRAME_PREFIX}${JSON.stringify(header)}`), /terminator/);
  });

  it('should reject a header that is not JSON', () => {
    expectMalformed(decodeStreamPayload(rawFrame('{fileId: nope')), /not JSON/);
  });

  it.each(['null', '42', '"text"'])('should reject a header that is not an object (%s)', (text) => {
    expectMalformed(decodeStreamPayload(rawFrame(text)), /not an object|lacks/);
  });

  it.each(['fileId', 'name', 'mimeType', 'sha256'] as const)('should reject a header without %s', (key) => {
    expectMalformed(decodeStreamPayload(frameWithout(key)), new RegExp(`lacks ${key}`));
  });

  it.each(['fileId', 'name', 'mimeType'] as const)('should reject a header with an empty %s', (key) => {
    expectMalformed(decodeStreamPayload(frameWith({ [key]: '' })), new RegExp(`lacks ${key}`));
  });

  it.each(['index', 'count', 'size'] as const)('should reject a header without %s', (key) => {
    expectMalformed(decodeStreamPayload(frameWithout(key)), new RegExp(`bad ${key}`));
  });

  it.each([
    ['negative', -1],
    ['fractional', 0.5],
    ['a string', '0'],
    ['unsafe', 2 ** 60],
  ])('should reject an index that is %s', (_label, index) => {
    expectMalformed(decodeStreamPayload(frameWith({ index })), /bad index/);
  });

  it('should reject an index equal to the count', () => {
    expectMalformed(decodeStreamPayload(frameWith({ index: 3, count: 3 })), /outside its count/);
  });

  it('should reject an index greater than the count', () => {
    expectMalformed(decodeStreamPayload(frameWith({ index: 5, count: 3 })), /outside its count/);
  });

  it('should reject a count of zero', () => {
    expectMalformed(decodeStreamPayload(frameWith({ index: 0, count: 0 })), /outside its count/);
  });

  it.each([
    ['upper-case', sha256Of('x').toUpperCase()],
    ['too short', sha256Of('x').slice(0, 63)],
    ['too long', `${sha256Of('x')}0`],
    ['not hex', 'z'.repeat(64)],
  ])('should reject a sha256 that is %s', (_label, sha256) => {
    expectMalformed(decodeStreamPayload(frameWith({ sha256 })), /sha256/);
  });

  it.each([
    ['of a length not a multiple of 4', 'QUJ'],
    ['with a character outside base64', 'QU!D'],
    ['in the base64url alphabet', 'ab-_'],
    ['with padding in the middle', 'QQ==QUJD'],
    ['with three padding characters', 'Q==='],
    ['with a trailing newline', 'QUJD\n'],
  ])('should reject data %s', (_label, data) => {
    expectMalformed(decodeStreamPayload(frameWith({}, data)), /invalid base64/);
  });

  it('should name the frame and its file in the base64 reason', () => {
    expectMalformed(decodeStreamPayload(frameWith({}, '***')), /frame 1 of file-1/);
  });
});

// ---------------------------------------------------------------- putFile

/** An engine that acknowledges every event and keeps what it got, by index. */
class FakeEngine implements StreamTransport {
  readonly events = new Map<number, string>();
  readonly logs: string[] = [];

  async putStreamEvent(request: StreamEventRequest): Promise<unknown> {
    this.events.set(request.eventIndex, new TextDecoder().decode(request.message));
    return {};
  }

  async putLog(request: LogRequest): Promise<unknown> {
    this.logs.push(request.message);
    return {};
  }

  /** Every payload, in index order. */
  payloads(): string[] {
    return [...this.events.entries()].sort(([a], [b]) => a - b).map(([, payload]) => payload);
  }
}

/** A step context on a fake engine; `sent` is the file frames the engine got, in index order. */
function fakeContext(): LosslessContext & { readonly engine: FakeEngine; readonly sent: string[] } {
  const engine = new FakeEngine();
  return {
    action: { taskRunExternalId: 'task-run-1', retryCount: 0 },
    v1: { events: { client: engine } },
    streamIndex: 0,
    engine,
    get sent() {
      return engine.payloads().filter((payload) => payload.startsWith(FILE_FRAME_PREFIX));
    },
    async putStream() {
      throw new Error("the SDK's putStream is not the kit's");
    },
  };
}

function decodeAll(frames: readonly string[]): Array<{ header: FileFrameHeader; data: string }> {
  return frames.map((frame) => {
    const decoded = decodeStreamPayload(frame);
    if (decoded.kind !== 'file') throw new Error(`not a file frame: ${JSON.stringify(decoded)}`);
    return { header: decoded.header, data: decoded.data };
  });
}

/** The kinds of the events a receiver got, in index order: file, text, close. */
function kinds(engine: FakeEngine): string[] {
  return engine.payloads().map((payload) => decodeStreamPayload(payload).kind);
}

const bytesOf = (length: number, seed = 1): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) % 256);

describe('putFile', () => {
  const options = {
    name: 'data.bin',
    mimeType: 'application/octet-stream',
    chunkBytes: 16,
    fileId: 'fid',
  } as const;

  it('should stream an empty file as one empty chunk', async () => {
    const ctx = fakeContext();
    const result = await putFile(ctx, new Uint8Array(0), options);
    const frames = decodeAll(ctx.sent);
    expect(frames).toEqual([
      {
        header: {
          fileId: 'fid',
          name: 'data.bin',
          mimeType: 'application/octet-stream',
          index: 0,
          count: 1,
          size: 0,
          sha256: sha256Of(''),
        },
        data: '',
      },
    ]);
    expect(result).toEqual({
      fileId: 'fid',
      name: 'data.bin',
      mimeType: 'application/octet-stream',
      size: 0,
      sha256: sha256Of(''),
      chunks: 1,
    });
  });

  it('should stream exactly chunkBytes bytes as one chunk', async () => {
    const ctx = fakeContext();
    const bytes = bytesOf(16);
    const result = await putFile(ctx, bytes, options);
    const frames = decodeAll(ctx.sent);
    expect(frames).toHaveLength(1);
    expect(frames[0]?.header).toMatchObject({ index: 0, count: 1, size: 16 });
    expect(Buffer.from(frames[0]?.data ?? '', 'base64')).toEqual(Buffer.from(bytes));
    expect(result.chunks).toBe(1);
  });

  it('should stream chunkBytes + 1 bytes as two chunks, the second of one byte', async () => {
    const ctx = fakeContext();
    const bytes = bytesOf(17);
    const result = await putFile(ctx, bytes, options);
    const frames = decodeAll(ctx.sent);
    expect(frames.map((f) => [f.header.index, f.header.count, Buffer.from(f.data, 'base64').length])).toEqual([
      [0, 2, 16],
      [1, 2, 1],
    ]);
    expect(result.chunks).toBe(2);
  });

  it.each([0, 1, 15, 16, 17, 32, 33, 100])(
    'should stream %i bytes as chunks that reassemble to the input with its sha256',
    async (length) => {
      const ctx = fakeContext();
      const bytes = bytesOf(length, length);
      const result = await putFile(ctx, bytes, options);
      const frames = decodeAll(ctx.sent);
      expect(frames).toHaveLength(Math.max(1, Math.ceil(length / 16)));
      expect(frames.map((f) => f.header.index)).toEqual(frames.map((_, i) => i));
      const reassembled = Buffer.concat(frames.map((f) => Buffer.from(f.data, 'base64')));
      expect(reassembled).toEqual(Buffer.from(bytes));
      for (const { header: h } of frames) {
        expect(h).toMatchObject({ fileId: 'fid', count: frames.length, size: length, sha256: sha256Of(bytes) });
      }
      expect(result).toEqual({
        fileId: 'fid',
        name: 'data.bin',
        mimeType: 'application/octet-stream',
        size: length,
        sha256: sha256Of(reassembled),
        chunks: frames.length,
      });
    },
  );

  it('should stream only the viewed bytes of a Uint8Array over a larger buffer', async () => {
    const ctx = fakeContext();
    const backing = bytesOf(64);
    const view = backing.subarray(10, 30);
    const result = await putFile(ctx, view, options);
    const reassembled = Buffer.concat(decodeAll(ctx.sent).map((f) => Buffer.from(f.data, 'base64')));
    expect(reassembled).toEqual(Buffer.from(view));
    expect(result).toMatchObject({ size: 20, sha256: sha256Of(view), chunks: 2 });
  });

  it('should use DEFAULT_FILE_CHUNK_BYTES when chunkBytes is not given', async () => {
    const ctx = fakeContext();
    await putFile(ctx, bytesOf(DEFAULT_FILE_CHUNK_BYTES + 1), { name: 'a', mimeType: 'b' });
    expect(decodeAll(ctx.sent).map((f) => Buffer.from(f.data, 'base64').length)).toEqual([DEFAULT_FILE_CHUNK_BYTES, 1]);
  });

  it('should keep default frames of a large file under the default payload limit, with room for a long name', () => {
    const size = 25_000_000;
    const count = Math.ceil(size / DEFAULT_FILE_CHUNK_BYTES);
    const header: FileFrameHeader = {
      fileId: '0b7e0a44-6d1c-4bd4-9b43-2a4f0c8b9e6d',
      name: 'quarterly-report.pdf',
      mimeType: 'application/pdf',
      index: count - 1,
      count,
      size,
      sha256: sha256Of('x'),
    };
    const frame = encodeFileFrame(header, Buffer.alloc(DEFAULT_FILE_CHUNK_BYTES).toString('base64'));
    expect(Buffer.byteLength(frame) + 400).toBeLessThan(DEFAULT_MAX_PAYLOAD_BYTES);
  });

  it("should lower the chunk size so that every frame fits in one event of the stream's payload limit", async () => {
    const ctx = fakeContext();
    const name = `${'長い名前'.repeat(100)}.bin`;
    const bytes = bytesOf(10_000);
    const result = await putFile(ctx, bytes, { name, mimeType: 'application/octet-stream', chunkBytes: 16_384 });
    const frames = decodeAll(ctx.sent);
    for (const frame of ctx.sent) expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD_BYTES);
    expect(frames.length).toBeGreaterThan(4);
    expect(Buffer.concat(frames.map((f) => Buffer.from(f.data, 'base64')))).toEqual(Buffer.from(bytes));
    expect(result.chunks).toBe(frames.length);
  });

  it('should refuse a name that leaves no room for data in a frame, and send nothing', async () => {
    const ctx = fakeContext();
    await expect(putFile(ctx, bytesOf(4), { name: 'n'.repeat(4000), mimeType: 'b' })).rejects.toThrow(RangeError);
    expect(ctx.engine.events.size).toBe(0);
  });

  it('should give each file a fresh id when none is given', async () => {
    const first = fakeContext();
    const second = fakeContext();
    const a = await putFile(first, bytesOf(3), { name: 'a', mimeType: 'b' });
    const b = await putFile(second, bytesOf(3), { name: 'a', mimeType: 'b' });
    expect(a.fileId).not.toBe(b.fileId);
    expect(decodeAll(first.sent)[0]?.header.fileId).toBe(a.fileId);
  });

  it.each([0, -1, Number.NaN, 0.5])('should refuse a chunkBytes of %s', async (chunkBytes) => {
    const ctx = fakeContext();
    await expect(putFile(ctx, bytesOf(4), { ...options, chunkBytes })).rejects.toThrow(RangeError);
    expect(ctx.engine.events.size).toBe(0);
  });
});

describe('putFile on counted streams', () => {
  const options = { name: 'data.bin', mimeType: 'application/octet-stream', chunkBytes: 16 } as const;

  it('should send its frames on a counted stream of its own outside lossless, closed before it resolves', async () => {
    const ctx = fakeContext();
    const result = await putFile(ctx, bytesOf(40), options);
    expect([...ctx.engine.events.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(kinds(ctx.engine)).toEqual(['file', 'file', 'file', 'close']);
    const frames = ctx.sent;
    const close = decodeStreamPayload(ctx.engine.payloads().at(-1) ?? '');
    expect(close).toEqual({
      kind: 'close',
      chunks: 3,
      bytes: Buffer.byteLength(frames.join('')),
      sha256: sha256Of(frames.join('')),
    });
    expect(ctx.engine.logs).toHaveLength(1);
    expect(result.chunks).toBe(3);
  });

  it('should make one segment per file outside lossless, with event indexes that go on from one to the next', async () => {
    const ctx = fakeContext();
    await putFile(ctx, bytesOf(20), options);
    await putFile(ctx, bytesOf(5), options);
    expect([...ctx.engine.events.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    expect(kinds(ctx.engine)).toEqual(['file', 'file', 'close', 'file', 'close']);
    expect(ctx.engine.logs).toHaveLength(2);
  });

  it("should write its frames on the step's stream inside lossless, which closes once the step returns", async () => {
    const ctx = fakeContext();
    const bytes = bytesOf(40);
    const result = await lossless(ctx, async () => {
      await ctx.putStream('caption');
      const file = await putFile(ctx, bytes, options);
      expect(kinds(ctx.engine)).not.toContain('close');
      return file;
    });
    expect(kinds(ctx.engine)).toEqual(['text', 'file', 'file', 'file', 'close']);
    expect(ctx.engine.logs).toHaveLength(1);
    const frames = decodeAll(ctx.sent);
    expect(Buffer.concat(frames.map((f) => Buffer.from(f.data, 'base64')))).toEqual(Buffer.from(bytes));
    expect(sha256Of(bytes)).toBe(result.sha256);
    const close = decodeStreamPayload(ctx.engine.payloads().at(-1) ?? '');
    expect(close).toMatchObject({ kind: 'close', chunks: 4 });
  });
});
