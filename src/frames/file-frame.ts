/**
 * The wire format that lets a step stream a file through `ctx.putStream`
 * without being mistaken for text. The engine carries stream payloads as
 * strings, so a file travels as framed chunks:
 *
 *     "\u0000hatchet-file/1\n" + JSON header + "\n" + base64(chunk bytes)
 *
 * A text chunk that starts with that NUL-led prefix is the one thing the
 * format reserves (stream-control.ts reserves another). Pure and
 * runtime-free: used by the worker kit, the gateway's event mapping and
 * browser code alike.
 */

/** Marks a stream payload as a file frame. */
export const FILE_FRAME_PREFIX = '\u0000hatchet-file/1\n';

/** What every frame says about its file and its own place in it. */
export interface FileFrameHeader {
  /** Unique per file within a run. */
  readonly fileId: string;
  readonly name: string;
  readonly mimeType: string;
  /** 0-based position of this chunk. */
  readonly index: number;
  /** Number of chunks of the file (at least 1: an empty file is one empty chunk). */
  readonly count: number;
  /** Size of the whole file in bytes. */
  readonly size: number;
  /** Lower-case hex SHA-256 of the whole file. */
  readonly sha256: string;
}

export type DecodedFileFrame =
  | { readonly kind: 'file'; readonly header: FileFrameHeader; readonly data: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Frames one chunk; `base64Data` is the base64 of this chunk's bytes only. */
export function encodeFileFrame(header: FileFrameHeader, base64Data: string): string {
  return `${FILE_FRAME_PREFIX}${JSON.stringify(header)}\n${base64Data}`;
}

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const sha256Pattern = /^[0-9a-f]{64}$/;

/** Decodes a payload that starts with FILE_FRAME_PREFIX: a well-formed frame, or why it is broken. */
export function decodeFileFrame(payload: string): DecodedFileFrame {
  const rest = payload.slice(FILE_FRAME_PREFIX.length);
  const newline = rest.indexOf('\n');
  if (newline < 0) return { kind: 'malformed', reason: 'file frame has no header terminator' };
  let raw: unknown;
  try {
    raw = JSON.parse(rest.slice(0, newline));
  } catch {
    return { kind: 'malformed', reason: 'file frame header is not JSON' };
  }
  const reason = headerProblem(raw);
  if (reason) return { kind: 'malformed', reason };
  const header = raw as FileFrameHeader;
  const data = rest.slice(newline + 1);
  if (data.length % 4 !== 0 || !base64Pattern.test(data)) {
    return { kind: 'malformed', reason: `file frame ${header.index} of ${header.fileId} has invalid base64 data` };
  }
  return { kind: 'file', header, data };
}

function headerProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return 'file frame header is not an object';
  const h = raw as Record<string, unknown>;
  for (const key of ['fileId', 'name', 'mimeType', 'sha256'] as const) {
    if (typeof h[key] !== 'string' || h[key] === '') return `file frame header lacks ${key}`;
  }
  for (const key of ['index', 'count', 'size'] as const) {
    const v = h[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `file frame header has a bad ${key}`;
  }
  if ((h['count'] as number) < 1 || (h['index'] as number) >= (h['count'] as number)) {
    return 'file frame index is outside its count';
  }
  if (!sha256Pattern.test(h['sha256'] as string)) return 'file frame sha256 is not lower-case hex';
  return undefined;
}
