/**
 * One ordered log of events per run. An event's position (`seq`, from 1) is
 * its cursor; readers keep only a position, so however many follow a run, each
 * event is stored once. The log is complete once its terminal RunStatus event
 * is appended; nothing is appended after that.
 *
 * Retention: past `maxEvents` events or `maxBytes` (estimated) the oldest
 * events are dropped. Positions never change; a reader or cursor behind the
 * oldest kept event is told so (CURSOR_EXPIRED) instead of skipping silently.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayError } from '../errors.js';
import type { RunEvent, RunEventBody } from '../events/run-event.js';
import { encodeCursor } from './cursor.js';

export interface RunLogLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

const unlimited: RunLogLimits = { maxEvents: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY };

/** A cheap estimate of an event's memory: its strings dominate. */
export function estimateBytes(body: RunEventBody): number {
  let bytes = 256;
  switch (body.kind) {
    case 'StreamChunk':
    case 'FileChunk':
      bytes += body.data.length * 2;
      break;
    case 'StepOutput':
      bytes += JSON.stringify(body.output ?? null).length * 2;
      break;
    case 'RunStatus':
      bytes += JSON.stringify(body.output ?? null).length * 2 + (body.error?.length ?? 0) * 2;
      break;
    case 'StepStatus':
      bytes += (body.error?.length ?? 0) * 2;
      break;
    case 'StreamGap':
      bytes += body.reason.length * 2;
      break;
  }
  return bytes;
}

export class RunLog {
  /** Kept events are #events[#head..]; the dropped prefix is compacted away now and then. */
  #events: RunEvent[] = [];
  #sizes: number[] = [];
  #head = 0;
  /** Seq of #events[#head]. */
  #firstSeq = 1;
  #bytes = 0;
  readonly #listeners = new Set<() => void>();
  #complete = false;
  #interruption: GatewayError | undefined;

  /**
   * @param epoch identifies this recording of the run: cursors of another
   * recording do not apply to it. A log mirrored from a shared store takes the
   * store's epoch, so cursors hold across replicas.
   */
  constructor(
    readonly runId: string,
    private readonly limits: RunLogLimits = unlimited,
    readonly epoch: string = randomBytes(6).toString('base64url'),
  ) {}

  /** True once the terminal RunStatus event is in the log. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Set when the log will never complete in this process (shutdown): readers end with this error. */
  get interruption(): GatewayError | undefined {
    return this.#interruption;
  }

  /** Ends every reader with `reason`; the log keeps what it has. */
  interrupt(reason: GatewayError): void {
    if (this.#complete || this.#interruption) return;
    this.#interruption = reason;
    this.#notify();
  }

  /** Seq of the last event, 0 when empty. */
  get lastSeq(): number {
    return this.#firstSeq + this.size - 1;
  }

  /** Seq of the oldest event kept; a position below `oldestSeq - 1` has expired. */
  get oldestSeq(): number {
    return this.#firstSeq;
  }

  /** Whether a reader at `position` (the seq it last read) can still continue without a hole. */
  covers(position: number): boolean {
    return Math.max(0, position) >= this.#firstSeq - 1;
  }

  /** Events held now. */
  get size(): number {
    return this.#events.length - this.#head;
  }

  /** Estimated bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends and wakes readers; returns the stored event. */
  append(body: RunEventBody, at: Date): RunEvent {
    if (this.#complete) throw new Error(`run ${this.runId}: log is complete, cannot append ${body.kind}`);
    const seq = this.lastSeq + 1;
    const event: RunEvent = { ...body, runId: this.runId, seq, cursor: encodeCursor(this.runId, this.epoch, seq), at };
    const size = estimateBytes(body);
    this.#events.push(event);
    this.#sizes.push(size);
    this.#bytes += size;
    if (body.kind === 'RunStatus') this.#complete = true;
    this.#trim();
    this.#notify();
    return event;
  }

  /**
   * Adds an event that already has its position (mirrored from a shared log,
   * or confirmed by it). Events at or before `lastSeq` are ignored (a mirror
   * hears some events twice). Returns false when `event` would leave a hole:
   * the caller must fetch what is missing first.
   */
  restore(event: RunEvent): boolean {
    if (event.seq <= this.lastSeq) return true;
    if (event.seq !== this.lastSeq + 1 || this.#complete) return false;
    const size = estimateBytes(event);
    this.#events.push(event);
    this.#sizes.push(size);
    this.#bytes += size;
    if (event.kind === 'RunStatus') this.#complete = true;
    this.#trim();
    this.#notify();
    return true;
  }

  /** An empty mirror of a shared log that was trimmed starts at the shared log's first kept event. */
  startAt(firstSeq: number): void {
    if (this.size > 0 || this.#firstSeq !== 1) throw new Error(`run ${this.runId}: startAt on a log that started`);
    this.#firstSeq = Math.max(1, firstSeq);
  }

  /** Events after `seq` (exclusive), in order; empty when `seq` is not covered. */
  eventsAfter(seq: number): readonly RunEvent[] {
    if (!this.covers(seq)) return [];
    return this.#events.slice(this.#head + Math.max(0, seq - this.#firstSeq + 1));
  }

  /** The event at `seq`, when it is kept. */
  eventAt(seq: number): RunEvent | undefined {
    if (seq < this.#firstSeq || seq > this.lastSeq) return undefined;
    return this.#events[this.#head + seq - this.#firstSeq];
  }

  /** Calls `listener` after every append; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /**
   * Drops the oldest events past the limits; the newest event always stays.
   * Dropping moves a head index; the arrays are compacted only once the dropped
   * prefix is as long as what is kept, so an append stays O(1) amortized.
   */
  #trim(): void {
    while (this.size > 1 && (this.size > this.limits.maxEvents || this.#bytes > this.limits.maxBytes)) {
      this.#bytes -= this.#sizes[this.#head] ?? 0;
      this.#head++;
      this.#firstSeq++;
    }
    if (this.#head > 0 && this.#head >= this.size) {
      this.#events = this.#events.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
