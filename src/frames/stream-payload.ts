/**
 * What one stream event of a step carries: text, a file chunk (file-frame.ts),
 * a counted stream's close frame (stream-control.ts), or a broken frame. Pure
 * and runtime-free.
 */
import { decodeFileFrame, FILE_FRAME_PREFIX, type FileFrameHeader } from './file-frame.js';
import { decodeStreamControl, STREAM_CONTROL_PREFIX, type StreamTotals } from './stream-control.js';

export type DecodedStreamPayload =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'file'; readonly header: FileFrameHeader; readonly data: string }
  | ({ readonly kind: 'close' } & StreamTotals)
  | { readonly kind: 'malformed'; readonly reason: string };

/** Tells text from the frames, and a well-formed frame from a broken one. */
export function decodeStreamPayload(payload: string): DecodedStreamPayload {
  if (payload.startsWith(FILE_FRAME_PREFIX)) return decodeFileFrame(payload);
  if (payload.startsWith(STREAM_CONTROL_PREFIX)) return decodeStreamControl(payload);
  return { kind: 'text', text: payload };
}
