/**
 * A step's stream, written so that nothing is lost silently: every event is
 * acknowledged by the engine (retried while the engine says "later"), and the
 * stream ends with a close frame (src/frames/stream-control.ts) whose totals
 * let the gateway count what did not arrive. The close frame's totals are
 * also written to the task's log, which the engine keeps.
 *
 * A chunk the engine still refuses after the retries is given up, counted
 * all the same and reported (onGiveUp): it never makes the step fail.
 */
import { createHash } from 'node:crypto';
import { encodeStreamClose, encodeStreamReceipt, type StreamTotals } from '../frames/stream-control.js';
import { type RetryPolicy, retryEngineCall } from './retry-engine-call.js';
import { createSendWindow } from './send-window.js';
import { MIN_SPLIT_BYTES, splitUtf8 } from './split-utf8.js';
import { type StepStreamContext, streamTransportOf } from './stream-transport.js';

/** Events sent and not yet acknowledged, at most, by default. */
export const DEFAULT_MAX_IN_FLIGHT = 32;

/**
 * Largest UTF-8 payload of one event by default. The engine's Postgres queue
 * sends messages over 8000 bytes (the payload base64-encoded twice, plus its
 * envelope) through a polled table on which stream events are lost: measured
 * on engine v0.105.0, 3.9 KB payloads arrived and 4.2 KB ones were lost.
 */
export const DEFAULT_MAX_PAYLOAD_BYTES = 3500;

/** How long an event is retried before it is given up, by default (ms). */
export const DEFAULT_RETRY_FOR_MS = 60_000;

/**
 * First pause between retries by default (ms): the engine's rate limit is a
 * token bucket per API token that refills every millisecond (1000/s by default).
 */
export const DEFAULT_MIN_BACKOFF_MS = 100;

/** Longest pause between retries by default (ms). */
export const DEFAULT_MAX_BACKOFF_MS = 5_000;

export interface CountedStreamOptions {
  /** Events in flight at most (default DEFAULT_MAX_IN_FLIGHT); `write` waits while they are. */
  readonly maxInFlight?: number;
  /** Longer chunks are split at code point boundaries (default DEFAULT_MAX_PAYLOAD_BYTES, at least 4). */
  readonly maxPayloadBytes?: number;
  /** Default DEFAULT_RETRY_FOR_MS. */
  readonly retryForMs?: number;
  /** Default DEFAULT_MIN_BACKOFF_MS. */
  readonly minBackoffMs?: number;
  /** Default DEFAULT_MAX_BACKOFF_MS. */
  readonly maxBackoffMs?: number;
  /**
   * Called for an event the engine did not take (a final error, or retries
   * that kept failing for retryForMs); `index` is its event index. Default:
   * one line on console.warn.
   */
  readonly onGiveUp?: (error: unknown, index: number) => void;
  /** Called when the receipt log line could not be written. Default: one line on console.warn. */
  readonly onReceiptLost?: (error: unknown) => void;
}

/** A step's counted stream; see openCountedStream. */
export interface CountedStream {
  /** The largest payload of one event: longer chunks are split. */
  readonly maxPayloadBytes: number;
  /**
   * Queues a chunk of text (a Uint8Array is taken as UTF-8 text; binary goes
   * through putFile). Resolves once the chunk is in the window of events in
   * flight, not once it is acknowledged; rejects only when the stream is closed.
   */
  write(data: string | Uint8Array): Promise<void>;
  /**
   * Waits until every chunk is acknowledged or given up, sends the close
   * frame and writes the receipt; resolves with the totals, or undefined when
   * nothing was written (then nothing at all was sent). Idempotent, never rejects.
   */
  close(): Promise<StreamTotals | undefined>;
}

const encoder = new TextEncoder();
// a leading BOM is text like any other: keep it, so that the totals match what is sent
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Opens a counted stream on a step's context. Nothing is sent before the
 * first write, and nothing at all for a stream never written to. Event
 * indexes come from the context's own counter, so they start at 0 for a
 * fresh step.
 */
export function openCountedStream(ctx: StepStreamContext, options: CountedStreamOptions = {}): CountedStream {
  const maxInFlight = checkedInteger('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, 1);
  const maxPayloadBytes = checkedInteger(
    'maxPayloadBytes',
    options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    MIN_SPLIT_BYTES,
  );
  const policy: RetryPolicy = {
    retryForMs: checkedInteger('retryForMs', options.retryForMs ?? DEFAULT_RETRY_FOR_MS, 0),
    minBackoffMs: checkedInteger('minBackoffMs', options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS, 0),
    maxBackoffMs: checkedInteger('maxBackoffMs', options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, 0),
  };
  const onGiveUp = options.onGiveUp ?? warnGiveUp;
  const onReceiptLost = options.onReceiptLost ?? warnReceiptLost;
  const transport = streamTransportOf(ctx);
  const { taskRunExternalId, retryCount } = ctx.action;
  const window = createSendWindow(maxInFlight);
  const hash = createHash('sha256');
  let chunks = 0;
  let bytes = 0;
  let written = false;
  let closing: Promise<StreamTotals | undefined> | undefined;

  const send = async (eventIndex: number, message: Uint8Array, createdAt: Date): Promise<void> => {
    try {
      await retryEngineCall(
        () => transport.putStreamEvent({ taskRunExternalId, createdAt, message, metadata: '', eventIndex }),
        policy,
      );
    } catch (error) {
      // a reporter that throws must not turn a given-up chunk into a failed step
      safely(() => onGiveUp(error, eventIndex));
    }
  };

  const enqueue = (message: Uint8Array): Promise<void> => {
    const index = ctx.streamIndex++;
    const createdAt = new Date();
    return window.submit(() => send(index, message, createdAt));
  };

  const finish = async (): Promise<StreamTotals | undefined> => {
    if (!written) return undefined;
    await window.drained();
    const totals: StreamTotals = { chunks, bytes, sha256: hash.digest('hex') };
    await send(ctx.streamIndex++, encoder.encode(encodeStreamClose(totals)), new Date());
    const createdAt = new Date();
    const message = encodeStreamReceipt(totals);
    try {
      await retryEngineCall(
        () =>
          transport.putLog({
            taskRunExternalId,
            createdAt,
            message,
            level: 'INFO',
            metadata: '',
            taskRetryCount: retryCount,
          }),
        policy,
      );
    } catch (error) {
      safely(() => onReceiptLost(error));
    }
    return totals;
  };

  return {
    maxPayloadBytes,
    write(data) {
      if (closing) return Promise.reject(new Error('the counted stream is closed'));
      const utf8 = encoder.encode(typeof data === 'string' ? data : decoder.decode(data));
      written = true;
      let accepted = Promise.resolve();
      for (const piece of splitUtf8(utf8, maxPayloadBytes)) {
        chunks++;
        bytes += piece.byteLength;
        hash.update(piece);
        accepted = enqueue(piece);
      }
      // the pieces start in order: the last one started means they all have
      return accepted;
    },
    close() {
      closing ??= finish();
      return closing;
    },
  };
}

function checkedInteger(name: string, value: number, min: number): number {
  if (!(Number.isSafeInteger(value) && value >= min))
    throw new RangeError(`${name} must be an integer of at least ${min}`);
  return value;
}

function safely(report: () => void): void {
  try {
    report();
  } catch {}
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
}

function warnGiveUp(error: unknown, index: number): void {
  console.warn(`counted stream: gave up event ${index}, the gateway will report it missing: ${oneLine(error)}`);
}

function warnReceiptLost(error: unknown): void {
  console.warn(`counted stream: could not write the receipt to the task log: ${oneLine(error)}`);
}
