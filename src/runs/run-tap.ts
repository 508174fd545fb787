/**
 * One engine listener for every run this gateway process triggers. Each run
 * carries the tap's metadata pair, and the tap's single listener (by that
 * pair) receives all their events; it hands each event to the recorder of its
 * run. The engine's work per event then no longer grows with the number of
 * runs being recorded: every listener of a tenant is called for every message
 * batch of the tenant, and the engine looks up each listener's runs per batch.
 *
 * Events of a run may arrive before its recorder asks for them (the trigger's
 * answer is still on its way): they wait, a bounded number for a bounded time.
 * When the engine ends the listener (a hangup, an error), every run's stream
 * ends with it, so that each recorder reconciles what it may have missed, and
 * the tap listens again at once.
 *
 * It never invents an event; it only routes what the engine sends.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EngineEvent } from '../events/engine-event.js';
import { sleep } from './lookup-run.js';
import type { RunSource } from './run-source.js';

/** The additional-metadata key of the tap's pair; its value is one per gateway process. */
export const TAP_KEY = 'hatchet-gateway-tap';

export interface RunTapOptions {
  /** How long events of a run nobody asked for yet are kept (ms). */
  readonly pendingMs: number;
  /** At most this many such events are kept, oldest dropped first. */
  readonly maxPendingEvents: number;
}

interface Follower {
  readonly queue: EngineEvent[];
  wake: (() => void) | undefined;
  ended: boolean;
}

interface Pending {
  readonly events: EngineEvent[];
  readonly since: number;
}

export class RunTap {
  /** The pair every run triggered through this tap carries. */
  readonly metadata = { key: TAP_KEY, value: randomUUID() } as const;
  readonly #followers = new Map<string, Set<Follower>>();
  readonly #pending = new Map<string, Pending>();
  #pendingEvents = 0;
  /** Runs whose recorder is done: their late events are dropped at once. */
  readonly #done = new Set<string>();
  readonly #abort = new AbortController();
  #attached = false;
  /** When the first event arrived since the listener last attached (the engine surely listens since), or null. */
  #confirmedAt: number | null = null;
  #waiters: Array<() => void> = [];
  readonly #loop: Promise<void>;

  constructor(
    private readonly source: RunSource,
    private readonly logger: Logger,
    private readonly options: RunTapOptions,
  ) {
    this.#loop = this.#listen();
  }

  /**
   * Whether the engine surely took the current listener in: nothing tells
   * when it registers a subscription, so this is known from the first event
   * after an attachment. A run triggered before may have events published
   * before the engine listened.
   */
  get confirmed(): boolean {
    return this.confirmedAt !== null;
  }

  /** Since when the current listener is confirmed (ms), or null (see confirmed). */
  get confirmedAt(): number | null {
    return this.#attached ? this.#confirmedAt : null;
  }

  /** 1 while the tap's engine listener is attached, else 0. */
  get upstreams(): number {
    return this.#attached ? 1 : 0;
  }

  /** Resolves once the listener is attached (at once when it is); rejects when the tap is closed. */
  ready(): Promise<void> {
    if (this.#abort.signal.aborted) return Promise.reject(new Error('the run tap is closed'));
    if (this.#attached) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * The events of `runId`: those that waited for it, then live ones, until
   * the engine ends the tap's listener or `signal` aborts. Call it again to
   * follow the run after the listener is attached again.
   */
  async *listen(runId: string, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    await this.ready();
    const follower: Follower = { queue: [], wake: undefined, ended: false };
    const pending = this.#pending.get(runId);
    if (pending) {
      this.#pending.delete(runId);
      this.#pendingEvents -= pending.events.length;
      follower.queue.push(...pending.events);
    }
    let set = this.#followers.get(runId);
    if (!set) {
      set = new Set();
      this.#followers.set(runId, set);
    }
    set.add(follower);
    const onAbort = () => this.#end(follower);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const event = follower.queue.shift();
        if (event) {
          yield event;
          continue;
        }
        if (follower.ended || signal.aborted) return;
        await new Promise<void>((resolve) => {
          follower.wake = resolve;
        });
        follower.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(follower);
      if (set.size === 0 && this.#followers.get(runId) === set) this.#followers.delete(runId);
    }
  }

  /** The run's log is complete: its events, if any still come, are dropped. */
  forget(runId: string): void {
    this.#done.add(runId);
    // a bounded memory of finished runs; a late event of an older one waits in pending and expires
    if (this.#done.size > 10_000) {
      const oldest = this.#done.values().next().value;
      if (oldest !== undefined) this.#done.delete(oldest);
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    for (const set of this.#followers.values()) for (const follower of set) this.#end(follower);
    for (const waiter of this.#waiters.splice(0)) waiter();
    await this.#loop;
  }

  async #listen(): Promise<void> {
    let failures = 0;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const stream = this.source.listen({ metadata: this.metadata }, signal)[Symbol.asyncIterator]();
      // the engine is asked once the first read starts (nice-grpc sends the request then)
      const first = stream.next();
      first.catch(() => {}); // awaited below; a failure before that is not unhandled
      await new Promise((resolve) => setImmediate(resolve));
      this.#attached = true;
      this.#confirmedAt = null;
      for (const waiter of this.#waiters.splice(0)) waiter();
      let received = 0;
      try {
        for (let next = await first; !next.done; next = await stream.next()) {
          received++;
          failures = 0;
          this.#confirmedAt ??= Date.now();
          this.#route(next.value);
        }
        // an engine that ends the listener at once, again and again, gets the same patience as one that fails
        if (received === 0) failures++;
        if (!signal.aborted) this.logger.info({ received }, 'the engine ended the run tap listener; listening again');
      } catch (error) {
        failures++;
        if (!signal.aborted) this.logger.warn({ err: error }, 'run tap listener failed; listening again');
      } finally {
        this.#attached = false;
        // every run's stream ends: its recorder reconciles, then follows again
        for (const set of this.#followers.values()) for (const follower of set) this.#end(follower);
      }
      if (failures > 0) await sleep(Math.min(2_000, 100 * 2 ** failures), signal);
    }
  }

  #route(received: EngineEvent): void {
    // the tap alone deals with the listener's end: a hangup ends every run's stream, not one
    const event = received.hangup ? { ...received, hangup: false } : received;
    const runId = event.workflowRunId;
    const set = this.#followers.get(runId);
    if (set && set.size > 0) {
      for (const follower of set) {
        follower.queue.push(event);
        follower.wake?.();
      }
      return;
    }
    if (this.#done.has(runId)) return;
    this.#keep(runId, event);
  }

  /** Keeps an event of a run nobody follows yet; drops expired and excess ones, oldest first. */
  #keep(runId: string, event: EngineEvent): void {
    const now = Date.now();
    for (const [id, pending] of this.#pending) {
      if (now - pending.since < this.options.pendingMs && this.#pendingEvents < this.options.maxPendingEvents) break;
      this.#pending.delete(id);
      this.#pendingEvents -= pending.events.length;
    }
    let pending = this.#pending.get(runId);
    if (!pending) {
      pending = { events: [], since: now };
      this.#pending.set(runId, pending);
    }
    pending.events.push(event);
    this.#pendingEvents++;
  }

  #end(follower: Follower): void {
    follower.ended = true;
    follower.wake?.();
  }
}
