/**
 * The Apollo example (examples/apollo) against a real gateway and engine: it
 * triggers over HTTP, follows over graphql-ws, has its socket terminated
 * mid-run and resumes on a new client after its last cursor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followRun } from '../../examples/apollo/follow-run.js';
import { disposeAll, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { runExample } from './helpers/run-example.js';
import { expectMultiStepRun, expectStreamTextRun, MULTI_STEP_INPUT, STREAM_INPUT } from './helpers/run-expectations.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(disposeAll);

describe('Apollo Client over graphql-ws', () => {
  it('should get the whole text once when its socket is terminated mid-stream and it resumes', async () => {
    const run = await followRun({ url: gateway.url, workflow: 'stream-text', input: STREAM_INPUT, dropAfter: 5 });
    await expectStreamTextRun(gateway, run);
  });

  it('should follow the three steps of multi-step across a terminated socket', async () => {
    const run = await followRun({ url: gateway.url, workflow: 'multi-step', input: MULTI_STEP_INPUT, dropAfter: 7 });
    await expectMultiStepRun(gateway, run);
  });

  it('should resume by itself when the network cuts its connections mid-stream', async () => {
    const proxy = await startTcpProxy(gateway.url);
    try {
      let seen = 0;
      const run = await followRun({
        url: proxy.url,
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
    const input = JSON.stringify({ text: 'hello, apollo', chunkSize: 5, delayMs: 20 });
    const { code, stdout, stderr } = await runExample('examples/apollo/main.ts', ['stream-text', input], {
      GATEWAY_URL: gateway.url,
      DROP_AFTER: '3',
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // events the socket had already received when it was terminated are still printed, before the resume line
    const lines = stdout.trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('-- '))).toEqual([
      expect.stringMatching(/^-- connection lost; resuming after c1\.\S+$/),
    ]);
    expect(lines.filter((line) => !line.startsWith('-- '))).toEqual([
      '[stream] QUEUED (attempt 1)',
      '[stream] STARTED (attempt 1)',
      '[stream] "hello"',
      '[stream] ", apo"',
      '[stream] "llo"',
      '[stream] COMPLETED (attempt 1)',
      expect.stringMatching(/^\[stream\] output \{(?=.*"length":13)(?=.*"chunks":3)/),
      expect.stringMatching(/^run COMPLETED \{(?=.*"length":13)(?=.*"chunks":3)/),
      expect.stringMatching(/^run \S+: 8 events over 2 connection\(s\)$/),
    ]);
  });
});
