/**
 * `stream-file`: one step, `render`, streams a file with the gateway's file
 * framing (putFile) on a counted stream (lossless). With `sizeBytes` the file
 * is deterministic pseudo-random bytes from `seed`; without it, a generated
 * PNG image (320x200). Returns `{ name, size, sha256 }` of the whole file, so
 * a client can verify it. With `caption`, a plain text chunk goes out first,
 * beside the file.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless, putFile } from '../../src/worker/index.js';
import { encodePng } from './png.js';

export type StreamFileInput = {
  /** Stream this many pseudo-random bytes instead of the PNG image. */
  sizeBytes?: number;
  /** Seed of the pseudo-random bytes (default 1). */
  seed?: number;
  name?: string;
  mimeType?: string;
  /** Raw bytes per framed chunk (default: the helper's). */
  chunkBytes?: number;
  /** A text chunk to stream before the file. */
  caption?: string;
};

export type StreamFileOutput = { name: string; size: number; sha256: string };

export const PNG_WIDTH = 320;
export const PNG_HEIGHT = 200;

/**
 * Deterministic bytes (mulberry32), the same for the same seed and size,
 * generated piece by piece so that a large file never sits in memory whole.
 */
export async function* pseudoRandomBytes(
  size: number,
  seed: number,
  pieceBytes = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  let state = seed >>> 0;
  for (let start = 0; start < size; start += pieceBytes) {
    const piece = Buffer.alloc(Math.min(pieceBytes, size - start));
    for (let i = 0; i < piece.length; i += 4) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      const word = (t ^ (t >>> 14)) >>> 0;
      for (let b = 0; b < 4 && i + b < piece.length; b++) piece[i + b] = (word >>> (b * 8)) & 0xff;
    }
    yield piece;
  }
}

/** The example image: a colour gradient with a diagonal band. */
export function exampleImage(): Buffer {
  return encodePng(PNG_WIDTH, PNG_HEIGHT, (x, y) => {
    const band = Math.abs(x - y * 1.6) < 12;
    return band ? [255, 255, 255] : [Math.round((x / PNG_WIDTH) * 255), Math.round((y / PNG_HEIGHT) * 255), 160];
  });
}

export function streamFileWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<StreamFileInput, { render: StreamFileOutput }>({
    name: 'stream-file',
    description: 'Streams a file (a PNG image, or sizeBytes of seeded bytes) as framed chunks.',
  });

  workflow.task({
    name: 'render',
    retries: 0,
    executionTimeout: '10m',
    fn: (input, ctx) =>
      lossless(ctx, async () => {
        const generated = input.sizeBytes !== undefined;
        const bytes = generated
          ? pseudoRandomBytes(Math.max(0, Math.floor(input.sizeBytes ?? 0)), input.seed ?? 1)
          : exampleImage();
        const name = input.name ?? (generated ? 'random.bin' : 'gradient.png');
        const mimeType = input.mimeType ?? (generated ? 'application/octet-stream' : 'image/png');
        if (input.caption) await ctx.putStream(input.caption); // plain text beside the file stays text
        const file = await putFile(ctx, bytes, {
          name,
          mimeType,
          ...(input.chunkBytes !== undefined ? { chunkBytes: input.chunkBytes } : {}),
        });
        return { name, size: file.size, sha256: file.sha256 };
      }),
  });

  return workflow;
}
