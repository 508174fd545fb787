/**
 * The urql example (examples/urql) against a real gateway and engine, over
 * graphql-ws and over SSE (graphql-sse): it triggers over HTTP, has its
 * subscription connection cut mid-run and resumes on a new client after its
 * last cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRun, type Transport } from '../../examples/urql/follow-run.js';
import { disposeAll, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { runExample } from './helpers/run-example.js';
import { expectMultiStepRun, expectStreamTextRun, MULTI_STEP_INPUT, STREAM_INPUT } from './helpers/run-expectations.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(disposeAll);

const transports: Array<{ name: string; transport: Transport; flags: string[] }> = [
  { name: 'graphql-ws', transport: 'ws', flags: [] },
  { name: 'SSE (graphql-sse)', transport: 'sse', flags: ['--sse'] },
];

for (const { name, transport, flags } of transports) {
  describe(`urql over ${name}`, () => {
    it('should get the whole text once when its connection is cut mid-stream and it resumes', async () => {
      const run = await followRun({
        url: gateway.url,
        transport,
        workflow: 'stream-text',
        input: STREAM_INPUT,
        dropAfter: 5,
      });
      await expectStreamTextRun(gateway, run);
    });

    it('should follow the three steps of multi-step across a cut connection', async () => {
      const run = await followRun({
        url: gateway.url,
        transport,
        workflow: 'multi-step',
        input: MULTI_STEP_INPUT,
        dropAfter: 7,
      });
      await expectMultiStepRun(gateway, run);
    });

    it('should resume by itself when the network cuts its connections mid-stream', async () => {
      const proxy = await startTcpProxy(gateway.url);
      try {
        let seen = 0;
        const run = await followRun({
          url: proxy.url,
          transport,
          workflow: 'stream-text',
          input: STREAM_INPUT,
          onEvent: () => ++seen === 5 && proxy.cut(),
        });
        await expectStreamTextRun(gateway, run);
      } finally {
        await proxy.close();
      }
    });

    it('should print the run from the command line, resuming after DROP_AFTER events', async () => {
      const input = JSON.stringify({ text: 'hello, urql', chunkSize: 5, delayMs: 20 });
      const { code, stdout, stderr } = await runExample('examples/urql/main.ts', ['stream-text', input, ...flags], {
        GATEWAY_URL: gateway.url,
        DROP_AFTER: '3',
      });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      // urql stops reading at the drop, so the resume line comes right after the third event
      expect(stdout.trimEnd().split('\n')).toEqual([
        '[stream] QUEUED (attempt 1)',
        '[stream] STARTED (attempt 1)',
        '[stream] "hello"',
        expect.stringMatching(/^-- connection lost; resuming after c1\.\S+$/),
        '[stream] ", urq"',
        '[stream] "l"',
        '[stream] COMPLETED (attempt 1)',
        expect.stringMatching(/^\[stream\] output \{(?=.*"length":11)(?=.*"chunks":3)/),
        expect.stringMatching(/^run COMPLETED \{(?=.*"length":11)(?=.*"chunks":3)/),
        expect.stringMatching(/^run \S+: 8 events over 2 connection\(s\)$/),
      ]);
    });
  });
}
