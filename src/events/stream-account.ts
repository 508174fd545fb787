/**
 * The account of one step attempt's stream against what the step says it
 * sent: the worker kit (src/worker/) ends its chunks with a close frame
 * (src/frames/stream-control.ts), and the close frame, or the receipt the kit
 * also writes to the task's log, carries the count, size and digest of the
 * chunks before it. Checking them is what turns a lost tail,
 * which no later chunk reveals, into a counted StreamGap. Pure: the tracker
 * feeds it and turns its verdicts into events.
 *
 * A step may stream several counted segments one after the other (each file
 * a step puts without the kit's task wrapper is one): a close accounts for
 * what arrived since the previous one. A segment is open (the step's end
 * waits for its close) only when the step's receipt announced it before any
 * of it arrived.
 */
import { createHash, type Hash } from 'node:crypto';
import type { StreamTotals } from '../frames/stream-control.js';

/** What a segment's close says about what arrived of it. */
export type StreamVerdict =
  /** Every chunk the step sent arrived (or was already counted as missed), bytes and digest agree. */
  | { readonly kind: 'whole' }
  /** The step sent `missed` more chunks than arrived or were counted: a lost tail. */
  | { readonly kind: 'short'; readonly missed: number; readonly sent: number }
  /** As many chunks as sent, but not the same bytes. */
  | { readonly kind: 'altered' }
  /** Nothing says what the step sent (no close frame, no receipt). */
  | { readonly kind: 'unknown' };

export class StreamAccount {
  #open = false;
  #chunks = 0;
  #bytes = 0;
  #missed = 0;
  #hash: Hash = createHash('sha256');
  #segmentsClosed = 0;
  #accounted = false;
  /** What the step's receipt says the open segment holds, before its close frame came (if it comes). */
  #expected: StreamTotals | null = null;

  /** A receipt announced a segment whose close has not come: the step's end waits for it. */
  get open(): boolean {
    return this.#open;
  }

  /** The last segment was closed and checked, and nothing arrived after it. */
  get accounted(): boolean {
    return this.#accounted;
  }

  /** Segments closed so far in this attempt (the index of the open one's receipt). */
  get segmentsClosed(): number {
    return this.#segmentsClosed;
  }

  /** What the step's receipt says the open segment holds, when it was read before the close frame came. */
  get expected(): StreamTotals | null {
    return this.#expected;
  }

  /** Every chunk the receipt announces has arrived or was counted as missed. */
  get complete(): boolean {
    return this.#expected !== null && this.#chunks + this.#missed >= this.#expected.chunks;
  }

  /**
   * The step's receipt, read before any frame of the stream arrived (an
   * engine that delivers a run's end before its chunks): the segment is
   * open, and its chunks are expected.
   */
  expect(totals: StreamTotals): void {
    this.#expected = totals;
    this.#open = true;
    this.#accounted = false;
  }

  /** Neither open nor closed and checked: a step that streamed without the kit, or not at all (so far). */
  get unknown(): boolean {
    return !this.#open && !this.#accounted;
  }

  /** A chunk arrived (text, file frame, or a broken frame: it was sent, so it counts). */
  received(payload: string): void {
    this.#chunks++;
    const bytes = Buffer.from(payload, 'utf8');
    this.#bytes += bytes.length;
    this.#hash.update(bytes);
    this.#accounted = false;
  }

  /** The engine's chunk index showed `count` chunks missing (already said as a counted StreamGap). */
  missed(count: number): void {
    this.#missed += count;
    this.#accounted = false;
  }

  /** Closes the segment with what the step says it sent (null: nothing says), and judges it. */
  close(totals: StreamTotals | null): StreamVerdict {
    const verdict = this.#judge(totals);
    this.#reset();
    this.#expected = null;
    this.#open = false;
    this.#segmentsClosed++;
    this.#accounted = totals !== null;
    return verdict;
  }

  #judge(totals: StreamTotals | null): StreamVerdict {
    if (!totals) return { kind: 'unknown' };
    const got = this.#chunks + this.#missed;
    if (got < totals.chunks) return { kind: 'short', missed: totals.chunks - got, sent: totals.chunks };
    // the digest covers every chunk: it can only be checked when exactly those arrived (more arrive
    // when a step mixed uncounted chunks in, or a recording taken over could not tell segments apart)
    const altered =
      this.#missed === 0 &&
      this.#chunks === totals.chunks &&
      (this.#bytes !== totals.bytes || this.#hash.copy().digest('hex') !== totals.sha256);
    return altered ? { kind: 'altered' } : { kind: 'whole' };
  }

  #reset(): void {
    this.#chunks = 0;
    this.#bytes = 0;
    this.#missed = 0;
    this.#hash = createHash('sha256');
  }
}
