/**
 * WebSocket at the byte level, for fuzzing what a client library never sends:
 * a raw TCP connection does the HTTP upgrade by hand, then writes hand-made
 * frames (unmasked, reserved opcodes, bad UTF-8, lying lengths) and reports
 * the close code the server answered with, if any, once the server ended the
 * connection.
 */
import { connect } from 'node:net';

export interface FrameOptions {
  readonly fin?: boolean;
  readonly rsv?: number;
  readonly opcode: number;
  readonly mask?: boolean;
  readonly payload: Uint8Array;
  /** Overrides the length the header declares (the payload is sent as is). */
  readonly declaredLength?: number;
}

/** One frame as bytes: header, optional mask key, (masked) payload. */
export function frame({ fin = true, rsv = 0, opcode, mask = true, payload, declaredLength }: FrameOptions): Buffer {
  const length = declaredLength ?? payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf)];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 0x10000) head.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    head.push(maskBit | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

export interface RawFrameResult {
  /** The HTTP status of the upgrade answer (101 when the upgrade was accepted). */
  readonly status: number;
  /** The close code of the server's close frame; undefined when it closed without one. */
  readonly closeCode: number | undefined;
  /** Everything the server sent after the upgrade, as text (for the stack-trace check). */
  readonly text: string;
}

/**
 * Upgrades a raw TCP connection to graphql-ws at `port` and `path`, writes
 * `bytes`, and resolves once the server ended the connection; rejects if it
 * does not within `timeoutMs`.
 */
export function sendRawFrames(port: number, path: string, bytes: Buffer, timeoutMs = 10_000): Promise<RawFrameResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let upgraded = false;
    let status = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open ${timeoutMs} ms after the frames`));
    }, timeoutMs);
    socket.on('error', () => {}); // a reset is one way to end it
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
    });
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (upgraded) return;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      status = Number(/^HTTP\/1\.1 (\d+)/.exec(received.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      upgraded = true;
      received = received.subarray(end + 4);
      if (status === 101) socket.write(bytes);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ status, closeCode: closeCodeOf(received), text: received.toString('utf8') });
    });
  });
}

/** The code of the first close frame among the server's (unmasked) frames. */
function closeCodeOf(bytes: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= bytes.length) {
    const opcode = (bytes[at] as number) & 0xf;
    let length = (bytes[at + 1] as number) & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8) return length >= 2 && start + 2 <= bytes.length ? bytes.readUInt16BE(start) : undefined;
    at = start + length;
  }
  return undefined;
}
