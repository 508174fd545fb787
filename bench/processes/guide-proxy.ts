/**
 * The proxy of Hatchet's streaming guide, written as minimally as the guide
 * does it, to compare the gateway against: `GET /stream/<runId>` answers
 * `text/event-stream` and opens its own engine listener for that client
 * (`hatchet.runs.subscribeToStream`), writing each chunk as
 * `data: {"type", "payload", "messageId"}` until the run ends. No log, no
 * replay, no backpressure: what the guide shows. `GET /metrics` says how many
 * engine listeners it holds. Prints `{"benchProxy": {"url", "pid"}}` once it
 * listens (PORT, default 0), stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HatchetClient } from '@hatchet-dev/typescript-sdk';

const keepAlive = setInterval(() => {}, 1_000);
const hatchet = HatchetClient.init();
let listeners = 0;

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/metrics') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ listeners }));
    return;
  }
  const match = /^\/stream\/([0-9a-f-]{36})$/.exec(path);
  if (!match?.[1]) {
    res.writeHead(404).end();
    return;
  }
  const runId = match[1];
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders(); // the guide's StreamingResponse answers at once, before the first event
  listeners++;
  void (async () => {
    try {
      for await (const payload of hatchet.runs.subscribeToStream(runId)) {
        res.write(`data: ${JSON.stringify({ type: 'stream', payload, messageId: runId })}\n\n`);
      }
    } catch (error) {
      res.write(`event: error\ndata: ${JSON.stringify({ message: String(error) })}\n\n`);
    } finally {
      listeners--;
      res.end();
    }
  })();
});

server.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(
    `${JSON.stringify({ benchProxy: { url: `http://127.0.0.1:${port}/stream`, pid: process.pid } })}\n`,
  );
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    clearInterval(keepAlive);
    process.exit(0);
  });
});
