/**
 * The gateway as a process (`npm start`'s entry point, in the production shape:
 * token mode, no example worker): SIGTERM ends open subscriptions with
 * SHUTTING_DOWN, closes sockets with 1001, and the process exits 0.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { killGatewayProcesses, startGatewayProcess } from '../helpers/gateway-process.js';
import { triggerRun, watchRun } from '../helpers/test-gateway.js';

afterAll(killGatewayProcesses);

describe('the gateway process', () => {
  it('should end open subscriptions with SHUTTING_DOWN on SIGTERM, close sockets with 1001 and exit 0', async () => {
    const { child, url, wsUrl } = await startGatewayProcess();
    const runId = await triggerRun({ url }, 'stream-text', { chunkSize: 1, delayMs: 100 });
    const watched = watchRun(wsUrl, runId);
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
