/**
 * Fault: the only gateway replica (REDIS_URL, REDIS_LEASE_MS=1000) is
 * SIGKILLed mid-run and started again with the same environment and port,
 * with no other replica to take the run over. Its clients (graphql-ws and SSE)
 * resume on the restarted process with their last cursor; the restarted
 * process takes the run's recording over once the dead one's lease expired.
 * Each client must end up with the run's complete sequence (every status and
 * output; the chunks streamed while nobody recorded as a StreamGapEvent that
 * counts them), identical to a late joiner's on the restarted process and to
 * a replay on a second replica that joins the shared log afterwards.
 * (replicas.test.ts covers a kill where another replica takes the run over.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Follow, followRun } from '../helpers/faults/raw-ws.js';
import { checkStreamTextRun, metric } from '../helpers/faults/sequences.js';
import { followRunSse } from '../helpers/faults/sse.js';
import { exitOf, type GatewayProcess, killGatewayProcesses, startGatewayProcess } from '../helpers/gateway-process.js';
import type { WireEvent } from '../helpers/operations.js';
import { disposeAll, startTestGateway, triggerRun } from '../helpers/test-gateway.js';

let env: Record<string, string>;
beforeAll(() => {
  // a prefix per file run: a reused Redis never mixes runs of another run of the suite
  env = {
    REDIS_URL: inject('redisUrl'),
    REDIS_KEY_PREFIX: `faults-restart-${Date.now()}`,
    REDIS_LEASE_MS: '1000',
    LOG_LEVEL: 'info',
  };
});
afterAll(async () => {
  await killGatewayProcesses();
  await disposeAll();
});

/** Collects the pino lines a gateway process writes from now on. */
function logLines(gateway: GatewayProcess): Array<{ msg?: string; runId?: string }> {
  const lines: Array<{ msg?: string; runId?: string }> = [];
  let rest = '';
  gateway.child.stdout?.on('data', (data: Buffer) => {
    rest += data.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.startsWith('{')) lines.push(JSON.parse(part) as { msg?: string; runId?: string });
    }
  });
  return lines;
}

const chunks = (events: readonly WireEvent[]) => events.filter((e) => e.__typename === 'StreamChunkEvent').length;

describe('the only gateway replica killed mid-run and restarted', () => {
  it('should let its clients resume on the restarted process with the complete sequence, the missed chunks counted', async () => {
    const first = await startGatewayProcess(env);
    const port = new URL(first.url).port;
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(12);
    const chunkSize = 2;
    // 156 chunks 60 ms apart: the step streams on well past the restart
    const runId = await triggerRun({ url: first.url }, 'stream-text', { text, chunkSize, delayMs: 60 });

    // three clients on the doomed process, each at its own place in the run when it dies
    let reachedKillPoint: () => void = () => {};
    const killPoint = new Promise<void>((resolve) => {
      reachedKillPoint = resolve;
    });
    const early = followRun(first.wsUrl, runId, {
      onEvent: (_e, follow) => {
        if (chunks(follow.events) === 15) reachedKillPoint();
      },
    });
    const overSse = followRunSse(first.url, runId);
    const joinedLater = new Promise<Follow>((resolve) => {
      const watcher = setInterval(() => {
        if (chunks(early.events) < 5) return;
        clearInterval(watcher);
        resolve(followRun(first.wsUrl, runId));
      }, 10);
    });
    const clients = [early, overSse, await joinedLater];
    await killPoint;
    first.child.kill('SIGKILL');
    expect(await exitOf(first.child)).toBe('SIGKILL');
    const drops = await Promise.all(clients.map((c) => c.ended));
    for (const drop of drops) expect(drop.how).toBe('closed');
    for (const client of clients) expect(client.events.at(-1)?.__typename).not.toBe('RunStatusEvent');

    // the same replica again: same environment, same port, nothing else running
    const restartedAt = Date.now();
    const second = await startGatewayProcess({ ...env, PORT: port });
    const restartMs = Date.now() - restartedAt;
    expect(second.url).toBe(first.url);
    const logs = logLines(second);

    const resumed = [
      followRun(second.wsUrl, runId, { after: early.lastCursor() }),
      followRunSse(second.url, runId, { after: overSse.lastCursor() }),
      followRun(second.wsUrl, runId, { after: clients[2]?.lastCursor() }),
    ];
    const lateJoiner = followRun(second.wsUrl, runId);
    // the restarted process records the run now (its one engine listener)
    await expect.poll(() => metric(second.url, 'hatchet_gateway_upstream_listeners'), { timeout: 15_000 }).toBe(1);
    const ends = await Promise.all([...resumed, lateJoiner].map((f) => f.ended));
    for (const end of ends) expect(end).toEqual({ how: 'complete' });
    for (const follow of [...resumed, lateJoiner]) expect(follow.errors).toEqual([]);
    expect(logs.some((l) => l.msg === 'took over recording a run' && l.runId === runId)).toBe(true);

    // a second replica joining the shared log afterwards replays the same run
    const replica = await startTestGateway(env);
    const onReplica = followRun(replica.wsUrl, runId);
    expect(await onReplica.ended).toEqual({ how: 'complete' });
    const reference = onReplica.events;
    const check = checkStreamTextRun(reference, text, chunkSize);
    expect(check.missed).toBeGreaterThan(0); // the kill did cost chunks, and they are counted
    expect(lateJoiner.events).toEqual(reference);
    clients.forEach((client, i) => {
      expect([...client.events, ...(resumed[i]?.events ?? [])]).toEqual(reference);
    });
    await expect.poll(() => metric(second.url, 'hatchet_gateway_subscribers'), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => metric(second.url, 'hatchet_gateway_upstream_listeners'), { timeout: 10_000 }).toBe(0);
    process.stderr.write(
      `gateway restart: killed after ${chunks(early.events)} chunks, restarted in ${restartMs} ms; ` +
        `${check.received} of ${check.expected} chunks recorded, ${check.missed} counted missing in ${check.gaps} gap(s); ` +
        `statuses and output complete; 3 clients resumed (ws, SSE, ws) with sequences identical to the replica's\n`,
    );
  }, 60_000);
});
