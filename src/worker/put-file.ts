/**
 * Streams a file from a step as framed chunks (see src/frames/file-frame.ts)
 * on the step's counted stream, so clients of the gateway receive typed
 * FileChunkEvents, can verify the whole file, and are told what was lost.
 * Plain `ctx.putStream(text)` stays plain text.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFileFrame, type FileFrameHeader } from '../frames/file-frame.js';
import { type CountedStreamOptions, openCountedStream } from './counted-stream.js';
import { countedStreamOf } from './lossless.js';
import type { StepStreamContext } from './stream-transport.js';

/**
 * Raw bytes per chunk by default: 2732 bytes of base64, plus a header of
 * about 230 bytes with short names, fit in the counted stream's default
 * payload limit (3500 bytes) with room for a name and MIME type of 500 more.
 */
export const DEFAULT_FILE_CHUNK_BYTES = 2048;

export interface PutFileOptions {
  readonly name: string;
  readonly mimeType: string;
  /**
   * Raw bytes per chunk at most (default DEFAULT_FILE_CHUNK_BYTES); fewer
   * when a frame would exceed the stream's payload limit, since the stream
   * would split it and the gateway would get broken pieces of it.
   */
  readonly chunkBytes?: number;
  /** Defaults to a random UUID. */
  readonly fileId?: string;
  /**
   * Options of the counted stream putFile opens for the file when the task
   * is not wrapped with lossless; inside lossless the step's stream is used.
   */
  readonly stream?: CountedStreamOptions;
}

/** What the step can return so a client can check what it received. */
export interface PutFileResult {
  readonly fileId: string;
  readonly name: string;
  readonly mimeType: string;
  readonly size: number;
  readonly sha256: string;
  readonly chunks: number;
}

/** Where the bytes come from: in memory, or a stream read once (e.g. fs.createReadStream). */
export type FileSource = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Streams a file as framed chunks; an empty file is one empty chunk. Every
 * frame carries the whole file's size and SHA-256, so a stream source is first
 * spooled to a temporary file (hashed on the way): memory stays at one chunk
 * whatever the file's size. Inside lossless the frames go on the step's
 * counted stream; otherwise the file gets a counted stream of its own, closed
 * (every frame acknowledged, close frame and receipt sent) before this resolves.
 */
export async function putFile(
  ctx: StepStreamContext,
  source: FileSource,
  options: PutFileOptions,
): Promise<PutFileResult> {
  const chunkBytes = Math.floor(options.chunkBytes ?? DEFAULT_FILE_CHUNK_BYTES);
  if (!(chunkBytes > 0)) throw new RangeError('chunkBytes must be a positive integer');
  if (source instanceof Uint8Array) {
    const buffer = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    const sha256 = createHash('sha256').update(buffer).digest('hex');
    return sendChunks(ctx, options, chunkBytes, buffer.length, sha256, async (offset, length) =>
      buffer.subarray(offset, offset + length),
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'put-file-'));
  try {
    const path = join(dir, 'spool');
    const hash = createHash('sha256');
    let size = 0;
    const spool = await open(path, 'w');
    try {
      for await (const piece of source) {
        hash.update(piece);
        size += piece.byteLength;
        await spool.write(piece);
      }
    } finally {
      await spool.close();
    }
    const file = await open(path, 'r');
    try {
      return await sendChunks(ctx, options, chunkBytes, size, hash.digest('hex'), async (offset, length) => {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      });
    } finally {
      await file.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function sendChunks(
  ctx: StepStreamContext,
  options: PutFileOptions,
  requestedChunkBytes: number,
  size: number,
  sha256: string,
  read: (offset: number, length: number) => Promise<Buffer>,
): Promise<PutFileResult> {
  const fileId = options.fileId ?? randomUUID();
  const { name, mimeType } = options;
  const headerOf = (index: number, count: number): FileFrameHeader => ({
    fileId,
    name,
    mimeType,
    index,
    count,
    size,
    sha256,
  });
  const shared = countedStreamOf(ctx);
  const stream = shared ?? openCountedStream(ctx, options.stream);
  try {
    // every chunk holds a byte at least, so no index or count has more digits than the size
    const widest = Math.max(1, size);
    const emptyFrame = encodeFileFrame(headerOf(widest, widest), '');
    const chunkBytes = Math.min(requestedChunkBytes, fittingChunkBytes(emptyFrame, stream.maxPayloadBytes));
    const count = Math.max(1, Math.ceil(size / chunkBytes));
    for (let index = 0; index < count; index++) {
      const offset = index * chunkBytes;
      const chunk = await read(offset, Math.min(chunkBytes, size - offset));
      await stream.write(encodeFileFrame(headerOf(index, count), chunk.toString('base64')));
    }
    return { fileId, name, mimeType, size, sha256, chunks: count };
  } finally {
    if (!shared) await stream.close();
  }
}

/** The most raw bytes per chunk whose frames, as long as `emptyFrame` without data, fit in `maxPayloadBytes`. */
function fittingChunkBytes(emptyFrame: string, maxPayloadBytes: number): number {
  const fitting = Math.floor((maxPayloadBytes - Buffer.byteLength(emptyFrame)) / 4) * 3;
  if (fitting < 1) throw new RangeError(`a file frame header leaves no room for data in ${maxPayloadBytes} bytes`);
  return fitting;
}
