/**
 * The worker kit, for workflow authors: counted, acknowledged stream writes
 * (lossless, openCountedStream) and files (putFile).
 */
export {
  type CountedStream,
  type CountedStreamOptions,
  DEFAULT_MAX_BACKOFF_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MIN_BACKOFF_MS,
  DEFAULT_RETRY_FOR_MS,
  openCountedStream,
} from './counted-stream.js';
export { countedStreamOf, type LosslessContext, lossless } from './lossless.js';
export {
  DEFAULT_FILE_CHUNK_BYTES,
  type FileSource,
  type PutFileOptions,
  type PutFileResult,
  putFile,
} from './put-file.js';
export type { LogRequest, StepStreamContext, StreamEventRequest, StreamTransport } from './stream-transport.js';
export { streamTransportOf } from './stream-transport.js';
