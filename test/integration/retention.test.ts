/**
 * Retention and slow consumers: a run log over its limits keeps its newest
 * events; a cursor behind them, or a subscriber that stops reading and falls
 * behind them, gets CURSOR_EXPIRED instead of a silent hole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RUN_EVENTS, type WireEvent } from '../helpers/operations.js';
import {
  collect,
  disposeAll,
  httpGraphQL,
  startTestGateway,
  type TestGateway,
  triggerRun,
  wsClient,
} from '../helpers/test-gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ RUN_LOG_MAX_EVENTS: '40' });
});
afterAll(disposeAll);

const trigger = (workflow: string, input: Record<string, unknown>) => triggerRun(gateway, workflow, input);

describe('a run log over its limits', () => {
  it('should answer CURSOR_EXPIRED for a cursor behind the kept events, and replay the kept ones without one', async () => {
    const runId = await trigger('stream-text', { text: 'x'.repeat(60), chunkSize: 1, delayMs: 5 });
    const live = await collect<{ workflowRunEvents: WireEvent }>(wsClient(gateway), RUN_EVENTS, { runId });
    const all = live.map((r) => r.data?.workflowRunEvents as WireEvent);
    expect(all.at(-1)?.__typename).toBe('RunStatusEvent');
    expect(all.length).toBeGreaterThan(40);

    const expired = await collect(wsClient(gateway), RUN_EVENTS, { runId, after: all[0]?.cursor }).catch(
      (errors: unknown) => [{ errors }],
    );
    expect(JSON.stringify(expired)).toContain('CURSOR_EXPIRED');

    const kept = await collect<{ workflowRunEvents: WireEvent }>(wsClient(gateway), RUN_EVENTS, { runId });
    expect(kept.map((r) => r.data?.workflowRunEvents)).toEqual(all.slice(-40));
  });

  it('should end a subscriber that stops reading with CURSOR_EXPIRED once it falls behind, without holding its backlog', async () => {
    // 20 MB in file chunks (7143 events): far more than the kernel's socket buffers on loopback hold
    const runId = await trigger('stream-file', { sizeBytes: 20_000_000, chunkBytes: 2800 });
    const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
    const messages: Array<{ type: string; payload?: unknown }> = [];
    const done = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: unknown };
        messages.push(message);
        if (message.type === 'connection_ack') {
          socket.send(
            JSON.stringify({ id: '1', type: 'subscribe', payload: { query: RUN_EVENTS, variables: { runId } } }),
          );
        }
        if (message.type === 'next' && messages.filter((m) => m.type === 'next').length === 1) {
          // the client stops reading: TCP backpressure reaches the gateway
          (socket as unknown as { _socket: { pause(): void } })._socket.pause();
          waitForRunEnd().then(() => (socket as unknown as { _socket: { resume(): void } })._socket.resume(), reject);
        }
        if (message.type === 'complete') resolve();
      });
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));

    async function waitForRunEnd(): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const { body } = await httpGraphQL<{ workflowRun: { status: string } | null }>(
          gateway,
          'query($id: ID!) { workflowRun(id: $id) { status } }',
          { id: runId },
        );
        if (body.data?.workflowRun?.status === 'COMPLETED') return;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error('the run did not complete');
    }

    await done;
    socket.terminate();
    const last = messages.filter((m) => m.type === 'next').at(-1) as {
      payload: { errors?: Array<{ extensions: { code: string } }> };
    };
    expect(last.payload.errors?.[0]?.extensions.code).toBe('CURSOR_EXPIRED');
    // it got the start of the run, then the error: not the whole file
    expect(messages.filter((m) => m.type === 'next').length).toBeLessThan(3_600);
    expect(gateway.runs.stats().subscribers).toBe(0);
  });
});
