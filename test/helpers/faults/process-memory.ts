/**
 * The memory of a gateway process, measured from outside: its resident set
 * from /proc, and its V8 heap right after a full garbage collection, asked for
 * through the inspector (the process is started with
 * `NODE_OPTIONS=--inspect=127.0.0.1:<port>`; the gateway has no endpoint that
 * forces a collection, and must not get one for a test).
 */
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';

export interface MemorySample {
  /** Resident set size (VmRSS), bytes. */
  readonly rss: number;
  /** V8 heap in use after a full collection, bytes. */
  readonly heapUsed: number;
}

/** VmRSS of `pid` in bytes. */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for ${pid}`);
  return kb * 1024;
}

/** Collects garbage in the process behind `inspectorPort` (twice, for weak references), then measures it. */
export async function measureAfterGc(pid: number, inspectorPort: number): Promise<MemorySample> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${inspectorPort}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 30_000);
      const onMessage = (raw: WebSocket.RawData) => {
        const message = JSON.parse(String(raw)) as { id?: number; result?: { result?: { value?: unknown } } };
        if (message.id !== id) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(message);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const answer = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const usage = JSON.parse(String(answer.result?.result?.value)) as { heapUsed: number };
    return { heapUsed: usage.heapUsed, rss: await residentBytes(pid) };
  } finally {
    socket.close();
  }
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
