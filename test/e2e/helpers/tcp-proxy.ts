/**
 * A TCP proxy in front of a test gateway whose `cut()` destroys every open
 * connection at once, as a network failure would: no close frame, no end of
 * stream. New connections are accepted afterwards, so a client can resume.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** The gateway URL with the proxy's port. */
  readonly url: string;
  cut(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 and a free port in front of `targetUrl` (http://127.0.0.1:port/path). */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    cut() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
