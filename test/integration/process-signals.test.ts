/**
 * The gateway as a process (`npm start`'s entry point, in the production shape:
 * token mode, no example worker): SIGTERM ends open subscriptions with
 * SHUTTING_DOWN, closes sockets with 1001, and the process exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { RUN_EVENTS, TRIGGER } from '../helpers/operations.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function startGatewayProcess(): Promise<{ child: ChildProcess; url: string }> {
  const engine = inject('engine');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'warn',
      START_EXAMPLE_WORKER: 'false',
      HATCHET_CLIENT_TOKEN: engine.token,
      HATCHET_CLIENT_HOST_PORT: engine.hostPort,
      HATCHET_CLIENT_API_URL: engine.apiUrl,
      HATCHET_CLIENT_TLS_STRATEGY: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /GraphiQL: (\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
  });
}

describe('the gateway process', () => {
  it('should end open subscriptions with SHUTTING_DOWN on SIGTERM, close sockets with 1001 and exit 0', async () => {
    const { child, url } = await startGatewayProcess();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: TRIGGER,
        variables: { workflow: 'stream-text', input: { chunkSize: 1, delayMs: 100 } },
      }),
    });
    const runId = ((await res.json()) as { data: { triggerWorkflow: { runId: string } } }).data.triggerWorkflow.runId;

    let closeCode: number | undefined;
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {}, // the close is what this test waits for
      on: { closed: (event) => (closeCode = (event as { code: number }).code) },
    });
    const codes: string[] = [];
    let gotFirst: () => void = () => {};
    const first = new Promise<void>((resolve) => {
      gotFirst = resolve;
    });
    const ended = new Promise<string>((resolve) => {
      client.subscribe(
        { query: RUN_EVENTS, variables: { runId } },
        {
          next: (value) => {
            const code = (value.errors?.[0]?.extensions as { code?: string } | undefined)?.code;
            if (code) codes.push(code);
            gotFirst();
          },
          error: () => resolve('error'),
          complete: () => resolve('complete'),
        },
      );
    });
    await first;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');

    expect(await ended).toBe('complete');
    expect(codes).toEqual(['SHUTTING_DOWN']);
    expect(await exited).toBe(0);
    expect(closeCode).toBe(1001);
    await client.dispose();
  });
});
