/**
 * `stream-text`: one step, `stream`, streams a text in consecutive chunks with
 * `ctx.putStream` on a counted stream (lossless), then returns
 * `{ length, chunks }`. With `plain: true` it streams with the SDK's own
 * `ctx.putStream`, as Hatchet's streaming guide does (what the gateway does
 * without the worker kit). Its name, input and output are a contract that the
 * tests, the web page and users rely on.
 */
import type { HatchetClient } from '@hatchet-dev/typescript-sdk';
import { lossless } from '../../src/worker/index.js';

export type StreamTextInput = {
  /** The text to stream; a default paragraph when absent. */
  text?: string;
  /** Characters per chunk (default 8). */
  chunkSize?: number;
  /** Pause between chunks in ms (default 50). */
  delayMs?: number;
  /** Stream with the SDK's plain `ctx.putStream` instead of the worker kit (default false). */
  plain?: boolean;
};

export type StreamTextOutput = {
  length: number;
  chunks: number;
};

export const defaultText =
  'Happy families are all alike; every unhappy family is unhappy in its own way. ' +
  'Everything was in confusion in the Oblonskys’ house. The wife had discovered that the husband ' +
  'was carrying on an intrigue with a French girl, who had been a governess in their family.';

/** Splits a text into consecutive chunks of at most `size` characters (by code point). */
export function chunkText(text: string, size: number): string[] {
  const codePoints = Array.from(text);
  const chunks: string[] = [];
  for (let i = 0; i < codePoints.length; i += size) {
    chunks.push(codePoints.slice(i, i + size).join(''));
  }
  return chunks;
}

export function streamTextWorkflow(hatchet: HatchetClient) {
  const workflow = hatchet.workflow<StreamTextInput, { stream: StreamTextOutput }>({
    name: 'stream-text',
    description: 'Streams a text in chunks, then returns its length and chunk count.',
  });

  workflow.task({
    name: 'stream',
    retries: 0,
    fn: (input, ctx) => {
      const body = async () => {
        const text = input.text ?? defaultText;
        const chunks = chunkText(text, Math.max(1, Math.floor(input.chunkSize ?? 8)));
        const delayMs = Math.max(0, input.delayMs ?? 50);
        for (const chunk of chunks) {
          await ctx.putStream(chunk);
          if (delayMs > 0) await sleep(delayMs);
        }
        return { length: text.length, chunks: chunks.length };
      };
      return input.plain ? body() : lossless(ctx, body);
    },
  });

  return workflow;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
