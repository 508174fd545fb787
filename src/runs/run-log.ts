/**
 * One ordered log of events per run. An event's position (`seq`, from 1) is
 * its cursor; readers keep only a position, so however many follow a run, each
 * event is stored once. The log is complete once its terminal RunStatus event
 * is appended; nothing is appended after that.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayError } from '../errors.js';
import type { RunEvent, RunEventBody } from '../events/run-event.js';
import { encodeCursor } from './cursor.js';

export class RunLog {
  readonly #events: RunEvent[] = [];
  readonly #listeners = new Set<() => void>();
  #complete = false;
  #interruption: GatewayError | undefined;

  /** Identifies this recording of the run: cursors of another recording do not apply to it. */
  readonly epoch = randomBytes(6).toString('base64url');

  constructor(readonly runId: string) {}

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
    return this.#events.length;
  }

  get size(): number {
    return this.#events.length;
  }

  /** Appends and wakes readers; returns the stored event. */
  append(body: RunEventBody, at: Date): RunEvent {
    if (this.#complete) throw new Error(`run ${this.runId}: log is complete, cannot append ${body.kind}`);
    const seq = this.#events.length + 1;
    const event: RunEvent = { ...body, runId: this.runId, seq, cursor: encodeCursor(this.runId, this.epoch, seq), at };
    this.#events.push(event);
    if (body.kind === 'RunStatus') this.#complete = true;
    this.#notify();
    return event;
  }

  /** Events after `seq` (exclusive), in order. */
  eventsAfter(seq: number): readonly RunEvent[] {
    return this.#events.slice(Math.max(0, seq));
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

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
