/**
 * The close frame of a counted stream: what the worker kit (src/worker/)
 * sends after a step's chunks so that the gateway knows what the step sent,
 * and can say exactly what did not arrive instead of staying silent about a
 * lost tail.
 *
 *     "\u0000hatchet-stream/1\n" + {"kind":"close","chunks":N,"bytes":B,"sha256":H}
 *
 * N chunks (text or file frames) were written since the stream began (or
 * since the step's previous close frame), B bytes in all (UTF-8 of the
 * payloads as sent), H the lower-case hex SHA-256 of their concatenation in
 * index order. There is no open frame: it would take an index of the
 * engine's per-step count, and a gap counted from that index would count it
 * as a missed chunk.
 *
 * The close frame's numbers are also written to the task's log (one line, see
 * STREAM_RECEIPT_PREFIX) before the step returns: the engine keeps logs, not
 * stream events, so the count survives a close frame the engine dropped.
 * Pure and runtime-free.
 */

/** Marks a stream payload as a control frame of a counted stream. */
export const STREAM_CONTROL_PREFIX = '\u0000hatchet-stream/1\n';

/** What a counted stream's close frame (and its receipt) says the step sent. */
export interface StreamTotals {
  /** Chunks written between the open and close frames. */
  readonly chunks: number;
  /** UTF-8 bytes of those chunks' payloads. */
  readonly bytes: number;
  /** Lower-case hex SHA-256 of the payloads concatenated in index order. */
  readonly sha256: string;
}

export type StreamControl = { readonly kind: 'close' } & StreamTotals;

export type DecodedStreamControl = StreamControl | { readonly kind: 'malformed'; readonly reason: string };

/** The frame that closes a counted stream. */
export function encodeStreamClose(totals: StreamTotals): string {
  return `${STREAM_CONTROL_PREFIX}${JSON.stringify({ kind: 'close', ...pickTotals(totals) })}`;
}

/** Decodes a payload that starts with STREAM_CONTROL_PREFIX. */
export function decodeStreamControl(payload: string): DecodedStreamControl {
  let raw: unknown;
  try {
    raw = JSON.parse(payload.slice(STREAM_CONTROL_PREFIX.length));
  } catch {
    return { kind: 'malformed', reason: 'stream control frame is not JSON' };
  }
  const frame = raw as Record<string, unknown> | null;
  if (frame?.['kind'] === 'close') {
    const totals = parseTotals(frame);
    return totals ? { kind: 'close', ...totals } : { kind: 'malformed', reason: 'stream close frame has bad totals' };
  }
  return { kind: 'malformed', reason: 'stream control frame of an unknown kind' };
}

/**
 * The task log line that carries a stream's totals (its receipt): readable by
 * people in Hatchet's dashboard, and by the gateway through the engine's log API.
 */
export const STREAM_RECEIPT_PREFIX = 'hatchet-stream/1 closed:';

export function encodeStreamReceipt(totals: StreamTotals): string {
  return `${STREAM_RECEIPT_PREFIX} ${JSON.stringify(pickTotals(totals))}`;
}

/** The totals of a receipt log line; undefined when the line is not one. */
export function decodeStreamReceipt(line: string): StreamTotals | undefined {
  if (!line.startsWith(STREAM_RECEIPT_PREFIX)) return undefined;
  try {
    return parseTotals(JSON.parse(line.slice(STREAM_RECEIPT_PREFIX.length)) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

const sha256Pattern = /^[0-9a-f]{64}$/;

function parseTotals(raw: Record<string, unknown> | null): StreamTotals | undefined {
  const chunks = raw?.['chunks'];
  const bytes = raw?.['bytes'];
  const sha256 = raw?.['sha256'];
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!count(chunks) || !count(bytes) || typeof sha256 !== 'string' || !sha256Pattern.test(sha256)) return undefined;
  return { chunks, bytes, sha256 };
}

function pickTotals({ chunks, bytes, sha256 }: StreamTotals): StreamTotals {
  return { chunks, bytes, sha256 };
}
