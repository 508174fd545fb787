/**
 * The urql example (examples/urql) against a real gateway and engine, over
 * graphql-ws and over SSE (graphql-sse): it triggers over HTTP, has its
 * subscription connection cut mid-run and resumes on a new client after its
 * last cursor. With authentication on, it triggers with an API key, follows
 * with run tokens that expire mid-run, and renews each one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRun, type Transport } from '../../examples/urql/follow-run.js';
import { disposeAll, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { runExample } from './helpers/run-example.js';
import {
  API_KEY,
  expectMultiStepRun,
  expectRenewedStreamTextOutput,
  expectRenewedStreamTextRun,
  expectStreamTextRun,
  LONG_RUN_INPUT,
  MULTI_STEP_INPUT,
  SHORT_TOKENS_GATEWAY,
  STREAM_INPUT,
} from './helpers/run-expectations.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

let gateway: TestGateway;
let secured: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
  secured = await startTestGateway(SHORT_TOKENS_GATEWAY);
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

  describe(`urql over ${name} with authentication on and run tokens that live 2 s`, () => {
    it('should trigger with the API key, follow with run tokens, and renew each one that expires mid-run', async () => {
      let renewals = 0;
      const run = await followRun({
        url: secured.url,
        transport,
        apiKey: API_KEY,
        workflow: 'stream-text',
        input: LONG_RUN_INPUT,
        onResume: (_cursor, why) => {
          if (why === 'token renewed') renewals++;
        },
      });
      await expectRenewedStreamTextRun(secured, run, renewals, API_KEY);
    });

    it('should print the run from the command line with GATEWAY_API_KEY, renewing its token as it goes', async () => {
      const { code, stdout, stderr } = await runExample(
        'examples/urql/main.ts',
        ['stream-text', JSON.stringify(LONG_RUN_INPUT), ...flags],
        { GATEWAY_URL: secured.url, GATEWAY_API_KEY: API_KEY },
      );
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expectRenewedStreamTextOutput(stdout);
    });
  });
}

describe('urql with authentication on', () => {
  it('should be refused without the API key', async () => {
    await expect(followRun({ url: secured.url, workflow: 'stream-text' })).rejects.toMatchObject({
      graphQLErrors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })],
    });
  });
});
