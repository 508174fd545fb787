/**
 * The gateway as a process (`npm start`'s entry point, in the production shape:
 * token mode, no example worker): SIGTERM ends open subscriptions with
 * SHUTTING_DOWN, closes sockets with 1001, and the process exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { triggerRun, watchRun } from '../helpers/test-gateway.js';

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
    const runId = await triggerRun({ url }, 'stream-text', { chunkSize: 1, delayMs: 100 });
    const watched = watchRun(url.replace(/^http/, 'ws'), runId);
    await watched.first;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');

    expect(await watched.ended).toBe('complete');
    expect(watched.errorCodes).toEqual(['SHUTTING_DOWN']);
    expect(await exited).toBe(0);
    expect(watched.closeCode()).toBe(1001);
    await watched.dispose();
  });
});
