/**
 * Files from a step, end to end on the real engine: framed by putFile in the
 * worker, carried as FileChunkEvents, reassembled and verified by the client
 * helper, byte for byte against the SHA-256 the step returned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssembledFile, FileAssembler, type FileChunk } from '../../src/files/file-assembler.js';
import { DEFAULT_FILE_CHUNK_BYTES } from '../../src/worker/put-file.js';
import { RUN_EVENTS, type WireEvent } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  startTestGateway,
  type TestGateway,
  triggerRun,
  wsClient,
} from '../helpers/test-gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  // room for a 25 MB file in one run log (its base64 is about 33 MB)
  gateway = await startTestGateway({ RUN_LOG_MAX_BYTES: String(256 * 1024 * 1024) });
});
afterAll(disposeAll);

const sizes = [0, 1, DEFAULT_FILE_CHUNK_BYTES, DEFAULT_FILE_CHUNK_BYTES + 1, 5_000_000, 25_000_000];

describe('files streamed from a step', () => {
  for (const size of sizes) {
    it(`should reassemble a ${size}-byte file byte for byte, beside a text chunk of the same step`, async () => {
      const runId = await triggerRun(gateway, 'stream-file', {
        sizeBytes: size,
        seed: size + 1,
        caption: 'here it comes',
      });
      const results = await collect<{ workflowRunEvents: WireEvent }>(
        wsClient(gateway),
        RUN_EVENTS,
        { runId },
        { timeoutMs: 120_000 },
      );
      const events = results.map((r) => r.data?.workflowRunEvents as WireEvent);
      expect(events.at(-1)?.__typename).toBe('RunStatusEvent');
      expect(events.filter((e) => e.__typename === 'StreamGapEvent')).toEqual([]);

      const text = events.filter((e) => e.__typename === 'StreamChunkEvent').map((e) => e.data);
      expect(text).toEqual(['here it comes']);

      const assembler = new FileAssembler();
      let file: AssembledFile | undefined;
      for (const e of events)
        if (e.__typename === 'FileChunkEvent') file = (await assembler.add(e as FileChunk)) ?? file;
      assembler.assertComplete();
      const output = events.find((e) => e.__typename === 'StepOutputEvent')?.output as { size: number; sha256: string };
      expect(file?.size).toBe(size);
      expect(file?.bytes.length).toBe(size);
      expect(output.size).toBe(size);
      expect(file?.sha256).toBe(output.sha256);
    }, 120_000);
  }
});
