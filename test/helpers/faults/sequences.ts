/**
 * What a client must end up with after a fault, checked the same way in every
 * fault test: for a one-step `stream-text` run, every status and the output
 * once each and in order, the run's end last, no cursor twice, and the text's
 * chunks in order where a chunk may only be missing inside a StreamGapEvent
 * that counts it.
 */
import { expect } from 'vitest';
import { chunkText } from '../../../examples/workers/stream-text.js';
import type { WireEvent } from '../operations.js';
import type { GraphQLResponse } from '../test-gateway.js';

export interface StreamTextCheck {
  /** Chunks the client received. */
  readonly received: number;
  /** Chunks reported missing by StreamGapEvents. */
  readonly missed: number;
  readonly gaps: number;
  readonly expected: number;
  /** Chunks missing at the end with no gap for them (only with `allowTrailingLoss`). */
  readonly trailing: number;
}

/**
 * Asserts the contract above for a `stream-text` run of `text` in `chunkSize`
 * chunks; returns the chunk counts. `allowTrailingLoss`: the last chunks may be
 * missing without a gap, or behind a gap that cannot count them (the engine
 * lost them after the step's last delivered chunk, which no index can reveal);
 * they are counted in `trailing`.
 */
export function checkStreamTextRun(
  sequence: readonly WireEvent[],
  text: string,
  chunkSize: number,
  { allowTrailingLoss = false }: { allowTrailingLoss?: boolean } = {},
): StreamTextCheck {
  expect(sequence.filter((e) => e.__typename === 'StepStatusEvent').map((e) => e.status)).toEqual([
    'QUEUED',
    'STARTED',
    'COMPLETED',
  ]);
  const expected = chunkText(text, chunkSize);
  const outputs = sequence.filter((e) => e.__typename === 'StepOutputEvent');
  expect(outputs.map((e) => e.output)).toEqual([{ length: text.length, chunks: expected.length }]);
  const completed = sequence.findIndex((e) => e.__typename === 'StepStatusEvent' && e.status === 'COMPLETED');
  expect(sequence.findIndex((e) => e.__typename === 'StepOutputEvent')).toBeGreaterThan(completed);
  expect(sequence.filter((e) => e.__typename === 'RunStatusEvent')).toHaveLength(1);
  const end = sequence.at(-1);
  expect(end).toMatchObject({ __typename: 'RunStatusEvent', runStatus: 'COMPLETED' });
  expect(end?.output).toEqual({ length: text.length, chunks: expected.length });
  expect(new Set(sequence.map((e) => e.cursor)).size).toBe(sequence.length);

  let index = 0;
  let received = 0;
  let missed = 0;
  let gaps = 0;
  for (const event of sequence) {
    if (event.__typename === 'StreamGapEvent') {
      // a gap must say how many chunks it stands for, unless nothing follows it (then nothing can)
      const last = !sequence.slice(sequence.indexOf(event) + 1).some((e) => e.__typename === 'StreamChunkEvent');
      if (!(allowTrailingLoss && last && event.missedChunks === null))
        expect(event.missedChunks ?? 0, `gap ${JSON.stringify(event)}`).toBeGreaterThan(0);
      index += event.missedChunks ?? 0;
      missed += event.missedChunks ?? 0;
      gaps++;
    } else if (event.__typename === 'StreamChunkEvent') {
      expect(event.data, `chunk ${index}`).toBe(expected[index]);
      index++;
      received++;
    }
  }
  if (!allowTrailingLoss) expect(index, 'chunks missing at the end, with no gap for them').toBe(expected.length);
  return { received, missed, gaps, expected: expected.length, trailing: expected.length - index };
}

/** The events of a subscription's results; throws on an error result. */
export function eventsOf(results: readonly GraphQLResponse[]): WireEvent[] {
  return results.map((r) => {
    if (!r.data) throw new Error(`error result: ${JSON.stringify(r.errors)}`);
    return r.data['workflowRunEvents'] as WireEvent;
  });
}

/** One line of Prometheus text: the value of `name` (no labels) at the gateway of `url`. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no metric ${name} at ${url}`);
  return Number(line.split(' ')[1]);
}
