/**
 * Gapless resume: clients drop their connection at many points of a live run
 * and resume with their last cursor; each must end up with exactly the run's
 * full sequence, no event lost and none twice. Over graphql-ws and over SSE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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
  gateway = await startTestGateway();
});
afterAll(disposeAll);

const DROPS = 20;

const triggerLongRun = () =>
  triggerRun(gateway, 'stream-text', { text: 'abcdefghijklmnopqrstuvwxyz'.repeat(5), chunkSize: 2, delayMs: 25 });

/**
 * Reads `take` events over a raw graphql-ws connection, then kills the TCP
 * connection without a close handshake (as a network drop would).
 */
async function readThenDrop(runId: string, take: number, after?: string): Promise<WireEvent[]> {
  const socket = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  const events: WireEvent[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${take} events within 20 s`)), 20_000);
    const finish = () => {
      clearTimeout(timer);
      socket.terminate();
      resolve(events);
    };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('error', reject);
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as {
        type: string;
        payload?: { data?: { workflowRunEvents: WireEvent } };
      };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({ id: '1', type: 'subscribe', payload: { query: RUN_EVENTS, variables: { runId, after } } }),
        );
      } else if (message.type === 'next' && message.payload?.data) {
        events.push(message.payload.data.workflowRunEvents);
        if (events.length >= take) finish();
      } else if (message.type === 'complete') {
        finish();
      } else if (message.type === 'error' || (message.type === 'next' && !message.payload?.data)) {
        clearTimeout(timer);
        socket.terminate();
        reject(new Error(`subscription failed: ${JSON.stringify(message)}`));
      }
    });
  });
}

/** The same over SSE: read `take` events, then abort the HTTP request. */
async function sseReadThenDrop(runId: string, take: number, after?: string): Promise<WireEvent[]> {
  const abort = new AbortController();
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query: RUN_EVENTS, variables: { runId, after } }),
    signal: abort.signal,
  });
  expect(res.status).toBe(200);
  const events: WireEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    while (events.length < take) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('');
        if (block.includes('event: next') && data) {
          events.push((JSON.parse(data) as { data: { workflowRunEvents: WireEvent } }).data.workflowRunEvents);
          if (events.length >= take) break;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } finally {
    abort.abort();
  }
  return events;
}

async function followToTheEnd(runId: string, after: string | undefined): Promise<WireEvent[]> {
  const results = await collect<{ workflowRunEvents: WireEvent }>(wsClient(gateway), RUN_EVENTS, { runId, after });
  return results.map((r) => r.data?.workflowRunEvents as WireEvent);
}

describe('resume after a dropped connection', () => {
  // one suite, every transport: each drops its connection the way a network would
  const transports = [
    { name: 'graphql-ws', readThenDrop },
    { name: 'SSE', readThenDrop: sseReadThenDrop },
  ];
  for (const transport of transports) {
    it(`should give ${DROPS} ${transport.name} clients dropped at different points of a live run the exact full sequence`, async () => {
      const runId = await triggerLongRun();
      const reference = followToTheEnd(runId, undefined);
      const resumed = await Promise.all(
        Array.from({ length: DROPS }, async (_, i) => {
          const first = await transport.readThenDrop(runId, 1 + i * 3);
          const rest = await followToTheEnd(runId, first.at(-1)?.cursor);
          return [...first, ...rest];
        }),
      );
      const full = await reference;
      expect(full.at(-1)?.__typename).toBe('RunStatusEvent');
      // most clients dropped before the end (the others read it all, which must hold too)
      expect(full.length).toBeGreaterThan(DROPS * 2);
      for (const sequence of resumed) expect(sequence).toEqual(full);
      expect(gateway.runs.stats().subscribers).toBe(0);
    });
  }

  it('should resume twice in a row, dropping again after the first resume', async () => {
    const runId = await triggerLongRun();
    const reference = followToTheEnd(runId, undefined);
    const a = await readThenDrop(runId, 5);
    const b = await readThenDrop(runId, 10, a.at(-1)?.cursor);
    const c = await followToTheEnd(runId, b.at(-1)?.cursor);
    expect([...a, ...b, ...c]).toEqual(await reference);
  });
});
