/**
 * The client file helper on frames made by the worker helper: what a browser
 * app gets back, byte for byte, and what it is told when a file is broken.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileAssembler, FileAssemblyError, type FileChunk } from '../../src/files/file-assembler.js';
import { FILE_FRAME_PREFIX } from '../../src/frames/file-frame.js';
import { decodeStreamPayload } from '../../src/frames/stream-payload.js';
import { putFile } from '../../src/worker/put-file.js';
import type { StepStreamContext } from '../../src/worker/stream-transport.js';

const CHUNK = 1024;

/** A step context on an engine that acknowledges every event; `frames` gets the file frames in index order. */
function recordingContext(): StepStreamContext & { readonly frames: string[] } {
  const events = new Map<number, string>();
  return {
    action: { taskRunExternalId: 'task-run-1', retryCount: 0 },
    v1: {
      events: {
        client: {
          putStreamEvent: async (request) => events.set(request.eventIndex, new TextDecoder().decode(request.message)),
          putLog: async () => ({}),
        },
      },
    },
    streamIndex: 0,
    get frames() {
      return [...events.entries()]
        .sort(([a], [b]) => a - b)
        .map(([, payload]) => payload)
        .filter((payload) => payload.startsWith(FILE_FRAME_PREFIX));
    },
  };
}

/** Frames `bytes` with putFile and decodes them back into FileChunkEvent fields. */
async function chunksOf(bytes: Uint8Array, name = 'f.bin'): Promise<FileChunk[]> {
  const ctx = recordingContext();
  await putFile(ctx, bytes, {
    name,
    mimeType: 'application/octet-stream',
    chunkBytes: CHUNK,
    fileId: `id-${name}`,
  });
  return ctx.frames.map((frame) => {
    const decoded = decodeStreamPayload(frame);
    if (decoded.kind !== 'file') throw new Error('not a file frame');
    return { ...decoded.header, data: decoded.data };
  });
}

function bytesOf(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 256);
}

async function assemble(chunks: FileChunk[]): Promise<Uint8Array | undefined> {
  const assembler = new FileAssembler();
  let file: Uint8Array | undefined;
  for (const chunk of chunks) file = (await assembler.add(chunk))?.bytes ?? file;
  return file;
}

describe('putFile from a stream', () => {
  it('should send the same frames from a stream, in pieces of any size, as from the bytes in memory', async () => {
    for (const size of [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
      const bytes = bytesOf(size);
      async function* pieces() {
        for (let i = 0; i < size; i += 700) yield bytes.subarray(i, i + 700);
      }
      const ctx = recordingContext();
      await putFile(ctx, pieces(), {
        name: 'f.bin',
        mimeType: 'application/octet-stream',
        chunkBytes: CHUNK,
        fileId: 'id-f.bin',
      });
      const fromMemory = await chunksOf(bytes);
      expect(ctx.frames.map((f) => decodeStreamPayload(f))).toEqual(
        fromMemory.map(({ data, ...header }) => ({ kind: 'file', header, data })),
      );
    }
  }, 20_000);
});

describe('FileAssembler', () => {
  for (const size of [0, 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17]) {
    it(`should give back a ${size}-byte file byte for byte, in any chunk order`, async () => {
      const bytes = bytesOf(size);
      const chunks = await chunksOf(bytes);
      expect(chunks).toHaveLength(Math.max(1, Math.ceil(size / CHUNK)));
      const file = await assemble([...chunks].reverse());
      expect(file).toEqual(bytes);
      expect(
        createHash('sha256')
          .update(file as Uint8Array)
          .digest('hex'),
      ).toBe(chunks[0]?.sha256);
    }, 20_000);
  }

  it('should detect a corrupted chunk by its checksum', async () => {
    const chunks = await chunksOf(bytesOf(3 * CHUNK));
    const bad = chunks[1] as FileChunk;
    const flipped = atob(bad.data);
    chunks[1] = { ...bad, data: btoa(`${flipped[0] === 'a' ? 'b' : 'a'}${flipped.slice(1)}`) };
    await expect(assemble(chunks)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });

  it('should detect a truncated chunk by the size', async () => {
    const chunks = await chunksOf(bytesOf(2 * CHUNK));
    chunks[0] = { ...(chunks[0] as FileChunk), data: btoa('short') };
    await expect(assemble(chunks)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('should ignore a chunk replayed with the same data, and refuse one with different data', async () => {
    const chunks = await chunksOf(bytesOf(2 * CHUNK));
    const assembler = new FileAssembler();
    expect(await assembler.add(chunks[0] as FileChunk)).toBeUndefined();
    expect(await assembler.add(chunks[0] as FileChunk)).toBeUndefined();
    await expect(assembler.add({ ...(chunks[0] as FileChunk), data: btoa('other') })).rejects.toBeInstanceOf(
      FileAssemblyError,
    );
  });

  it('should name the missing chunks of a file that never completed', async () => {
    const chunks = await chunksOf(bytesOf(4 * CHUNK), 'photo.png');
    const assembler = new FileAssembler();
    await assembler.add(chunks[0] as FileChunk);
    await assembler.add(chunks[2] as FileChunk);
    expect(assembler.incomplete()).toEqual([{ fileId: 'id-photo.png', name: 'photo.png', missing: [1, 3] }]);
    expect(() => assembler.assertComplete()).toThrow(/lacks chunks 1, 3/);
  });
});
