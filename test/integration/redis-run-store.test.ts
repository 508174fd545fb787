/**
 * The shared run log in a real Redis (the private redis-server of the global
 * setup), driven through the SharedRunStore port the way two gateway replicas
 * would: each store is one replica's connection. Every test has its own key
 * prefix, so tests never see each other's runs.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import type { RunEvent, RunEventBody } from '../../src/events/run-event.js';
import { connectRedisRunStore, type RedisRunStoreOptions } from '../../src/redis/redis-run-store.js';
import { decodeCursor } from '../../src/runs/cursor.js';
import { type FollowItem, followRun } from '../../src/runs/follow-run.js';
import { RunLog } from '../../src/runs/run-log.js';
import type { SharedRunLease, SharedRunStore } from '../../src/runs/shared-run-store.js';
import { AT, chunk, finished } from '../helpers/event-bodies.js';
import { freePort } from '../helpers/free-port.js';

const RUN = '33333333-3333-4333-8333-333333333333';
const logger = pino({ level: 'silent' });

const noop = () => {};

// ---------------------------------------------------------------- a registry of what each test opened

const stores: SharedRunStore[] = [];
const leases: SharedRunLease[] = [];

afterEach(async () => {
  // release first: it stops the renewal timers, which would otherwise outlive the test
  await Promise.all(leases.splice(0).map((lease) => lease.release()));
  await Promise.all(stores.splice(0).map((store) => store.close()));
  vi.useRealTimers();
});

/** A unique key prefix per test, so that no test sees another's runs. */
const newPrefix = () => `test-store-${randomUUID()}`;

async function connect(keyPrefix: string, options: Partial<RedisRunStoreOptions> = {}): Promise<SharedRunStore> {
  const store = await connectRedisRunStore({
    url: inject('redisUrl'),
    keyPrefix,
    leaseMs: 5_000,
    retentionMs: 60_000,
    maxEvents: 10_000,
    logger,
    ...options,
  });
  stores.push(store);
  return store;
}

/** Two replicas' stores on the same prefix. */
async function replicas(
  options: [Partial<RedisRunStoreOptions>?, Partial<RedisRunStoreOptions>?] = [],
): Promise<[SharedRunStore, SharedRunStore]> {
  const prefix = newPrefix();
  return [await connect(prefix, options[0]), await connect(prefix, options[1])];
}

async function claim(store: SharedRunStore, runId = RUN): Promise<SharedRunLease | null> {
  const lease = await store.claim(runId);
  if (lease) leases.push(lease);
  return lease;
}

/** Claims as soon as the run's lease is free: a polling loop, bounded by `timeoutMs`. */
async function claimWhenFree(store: SharedRunStore, timeoutMs: number, runId = RUN): Promise<SharedRunLease> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lease = await claim(store, runId);
    if (lease) return lease;
    if (Date.now() > deadline) throw new Error(`the lease of ${runId} did not become free within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A local log mirroring the shared one, as a replica keeps it. */
async function mirrored(store: SharedRunStore, onReleased: () => void = noop, runId = RUN) {
  const info = await store.open(runId);
  const log = new RunLog(runId, undefined, info.epoch);
  const mirror = await store.mirror(log, onReleased);
  return { log, mirror, epoch: info.epoch };
}

/** Everything a follower of `log` reads after `afterSeq`, until the log completes. */
async function readToEnd(log: RunLog, afterSeq = 0): Promise<RunEvent[]> {
  const items: FollowItem[] = [];
  for await (const item of followRun(log, afterSeq)) items.push(item);
  return items.map((item) => {
    if (!('seq' in item)) throw new Error(`the follower ended with ${item.kind}`);
    return item;
  });
}

const dataOf = (events: readonly RunEventBody[]): string[] =>
  events.map((e) => (e.kind === 'StreamChunk' ? e.data : e.kind));

// ---------------------------------------------------------------- tests

describe('the Redis run store', () => {
  describe('open', () => {
    it('should give two replicas the same epoch for a run, and the correlation of the first to open it', async () => {
      const [a, b] = await replicas();
      const first = await a.open(RUN, { key: 'follow', value: 'first' });
      const second = await b.open(RUN, { key: 'follow', value: 'second' });
      expect(first.epoch).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
      expect(second).toEqual(first);
      expect(first.correlation).toEqual({ key: 'follow', value: 'first' });
      expect(await b.open(RUN)).toEqual(first);
    });

    it('should give two replicas opening a run at the same time the same epoch', async () => {
      const [a, b] = await replicas();
      const [onA, onB] = await Promise.all([a.open(RUN), b.open(RUN)]);
      expect(onA.epoch).toBe(onB.epoch);
      expect(onA.correlation).toBeNull();
    });

    it('should give each run its own epoch', async () => {
      const [a] = await replicas();
      const other = '44444444-4444-4444-8444-444444444444';
      expect((await a.open(RUN)).epoch).not.toBe((await a.open(other)).epoch);
    });
  });

  describe('claim and release', () => {
    it('should give the lease to exactly one of two replicas claiming at once', async () => {
      const [a, b] = await replicas();
      const results = await Promise.all([claim(a), claim(b)]);
      expect(results.filter((lease) => lease !== null)).toHaveLength(1);
      expect(await claim(a)).toBeNull();
      expect(await claim(b)).toBeNull();
    });

    it("should pass the lease to the other replica once the holder releases it, and call the other's onReleased", async () => {
      const [a, b] = await replicas();
      const leaseA = await claim(a);
      if (!leaseA) throw new Error('a fresh run had a holder');
      expect(leaseA.lost.aborted).toBe(false);
      expect(await claim(b)).toBeNull();
      const onReleased = vi.fn();
      await mirrored(b, onReleased);

      await leaseA.release();
      await expect.poll(() => onReleased.mock.calls.length).toBe(1);
      expect(leaseA.lost.aborted).toBe(true);
      const leaseB = await claim(b);
      expect(leaseB).not.toBeNull();
      expect(leaseB?.token).not.toBe(leaseA.token);
      expect(await claim(a)).toBeNull();
    });

    // time is the subject: the holder's renewals must keep the lease over several lease periods
    it('should keep the lease with its holder, renewed, past leaseMs', async () => {
      const [a, b] = await replicas([{ leaseMs: 300 }, { leaseMs: 300 }]);
      const leaseA = await claim(a);
      if (!leaseA) throw new Error('a fresh run had a holder');
      const until = Date.now() + 1_000;
      while (Date.now() < until) {
        expect(await claim(b)).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(leaseA.lost.aborted).toBe(false);
    });
  });

  describe('writer and mirror', () => {
    it('should store what the lease holder writes and give it to a mirror on another replica, in order, with the same cursors', async () => {
      const [a, b] = await replicas();
      const onA = await mirrored(a);
      const onB = await mirrored(b);
      expect(onB.epoch).toBe(onA.epoch);
      const following = readToEnd(onB.log);
      const lease = await claim(a);
      if (!lease) throw new Error('a fresh run had a holder');
      const stored: RunEvent[] = [];
      const writer = a.writer(onA.log, lease, (event) => {
        stored.push(event);
        onA.log.restore(event);
      });
      expect(writer.runId).toBe(RUN);
      for (let i = 1; i <= 20; i++) writer.append(chunk(`c${i}`), AT);
      writer.append(finished, AT);
      await writer.drain();

      expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      const read = await following;
      expect(read).toEqual(stored);
      expect(onB.log.eventsAfter(0)).toEqual(onA.log.eventsAfter(0));
      expect(onB.log.complete).toBe(true);
      for (const event of read)
        expect(decodeCursor(event.cursor)).toEqual({ runId: RUN, epoch: onA.epoch, seq: event.seq });
      expect(dataOf(read).slice(0, 3)).toEqual(['c1', 'c2', 'c3']);
      expect(read.at(-1)).toMatchObject({ kind: 'RunStatus', status: 'COMPLETED', output: { ok: true } });
    });

    it('should return every stored body from bodies(), oldest first, and nothing for a run without a log', async () => {
      const [a, b] = await replicas();
      const onA = await mirrored(a);
      const lease = await claim(a);
      if (!lease) throw new Error('a fresh run had a holder');
      const writer = a.writer(onA.log, lease, (event) => onA.log.restore(event));
      for (let i = 1; i <= 5; i++) writer.append(chunk(`c${i}`), AT);
      await writer.drain();
      const bodies = await b.bodies(RUN);
      expect(dataOf(bodies)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
      expect(bodies).toEqual(onA.log.eventsAfter(0));
      expect(await b.bodies('55555555-5555-4555-8555-555555555555')).toEqual([]);
    });

    it('should let a mirror opened after 1,200 events catch up all of them, and bodies() return them all', async () => {
      const [a, b] = await replicas();
      const onA = await mirrored(a);
      const lease = await claim(a);
      if (!lease) throw new Error('a fresh run had a holder');
      const writer = a.writer(onA.log, lease, (event) => onA.log.restore(event));
      const count = 1_200;
      for (let i = 1; i <= count; i++) writer.append(chunk(`c${i}`), AT);
      await writer.drain();
      expect(onA.log.lastSeq).toBe(count);

      const late = await mirrored(b);
      expect(late.log.lastSeq).toBe(count);
      expect(late.log.oldestSeq).toBe(1);
      expect(late.log.eventsAfter(0)).toEqual(onA.log.eventsAfter(0));
      const bodies = await b.bodies(RUN);
      expect(bodies).toHaveLength(count);
      expect(dataOf(bodies)).toEqual(Array.from({ length: count }, (_, i) => `c${i + 1}`));
    });

    it("should start a late mirror at the stream's first kept event when the stream was trimmed to maxEvents", async () => {
      const [a, b] = await replicas([{ maxEvents: 10 }, { maxEvents: 10 }]);
      const onA = await mirrored(a);
      const lease = await claim(a);
      if (!lease) throw new Error('a fresh run had a holder');
      const writer = a.writer(onA.log, lease, (event) => onA.log.restore(event));
      for (let i = 1; i <= 25; i++) writer.append(chunk(`c${i}`), AT);
      await writer.drain();

      const late = await mirrored(b);
      expect(late.log.oldestSeq).toBe(16);
      expect(late.log.lastSeq).toBe(25);
      expect(late.log.covers(14)).toBe(false);
      expect(late.log.covers(15)).toBe(true);
      expect(late.log.eventsAfter(15)).toEqual(onA.log.eventsAfter(15));
    });
  });

  describe('fencing', () => {
    it('should refuse the appends of a holder whose lease expired, abort its `lost` signal, and let the new holder continue after the last stored event', async () => {
      // the first holder's renewal timer is fake and is not advanced: a replica paused for
      // longer than its lease. The other replica claims with a long lease, so it needs no renewal.
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const leaseMs = 300;
      const [a, b] = await replicas([{ leaseMs }, { leaseMs: 60_000 }]);
      const onA = await mirrored(a);
      const onB = await mirrored(b);
      const claimedAt = Date.now();
      const leaseA = await claim(a);
      if (!leaseA) throw new Error('a fresh run had a holder');
      const storedByA: RunEvent[] = [];
      const writerA = a.writer(onA.log, leaseA, (event) => {
        storedByA.push(event);
        onA.log.restore(event);
      });
      for (const data of ['a1', 'a2', 'a3']) writerA.append(chunk(data), AT);
      await writerA.drain();
      expect(storedByA.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(await claim(b)).toBeNull();

      const leaseB = await claimWhenFree(b, 5_000);
      expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(leaseMs - 1);
      expect(leaseA.lost.aborted).toBe(false); // A has not noticed yet

      writerA.append(chunk('stale'), AT);
      await writerA.drain();
      expect(storedByA).toHaveLength(3);

      // A's renewal comes due and finds the lease gone
      vi.advanceTimersByTime(leaseMs);
      await expect.poll(() => leaseA.lost.aborted).toBe(true);
      writerA.append(chunk('after lost'), AT);
      await writerA.drain();
      expect(storedByA).toHaveLength(3);

      // B reads all A stored, then continues after it
      await onB.mirror.catchUp();
      expect(onB.log.lastSeq).toBe(3);
      const storedByB: RunEvent[] = [];
      const writerB = b.writer(onB.log, leaseB, (event) => {
        storedByB.push(event);
        onB.log.restore(event);
      });
      writerB.append(chunk('b4'), AT);
      writerB.append(chunk('b5'), AT);
      writerB.append(finished, AT);
      await writerB.drain();
      expect(storedByB.map((e) => e.seq)).toEqual([4, 5, 6]);

      const bodies = await a.bodies(RUN);
      expect(dataOf(bodies)).toEqual(['a1', 'a2', 'a3', 'b4', 'b5', 'RunStatus']);
      expect(bodies.map((e) => (e as RunEvent).seq)).toEqual([1, 2, 3, 4, 5, 6]);
      // the old holder's own readers see the new holder's events, and never the refused one
      expect(await readToEnd(onA.log)).toEqual(bodies);
      expect(onB.log.eventsAfter(0)).toEqual(bodies);
    });
  });

  describe('connection', () => {
    it('should reject with LOG_UNAVAILABLE within a few seconds when Redis cannot be reached', async () => {
      const port = await freePort();
      const started = Date.now();
      const connecting = connectRedisRunStore({
        url: `redis://127.0.0.1:${port}`,
        keyPrefix: newPrefix(),
        leaseMs: 5_000,
        retentionMs: 60_000,
        maxEvents: 10_000,
        logger,
      });
      const error = await connecting.then(
        (store) => {
          stores.push(store);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('LOG_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
});
