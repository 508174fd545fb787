/**
 * The shared run log in Redis (REDIS_URL): one stream per run, whose entry ids
 * are the events' positions (`0-<seq>`), beside a hash with the run's epoch,
 * correlation and last stored position, and a lease key naming the replica
 * that records the run. Appends go through a script that checks the lease and
 * the position, so a replica that lost its lease (paused, partitioned) can
 * never write, and a retried append is never stored twice. Every stored event
 * is also published on the run's channel, which is how mirrors on other
 * replicas follow a run without one blocking read per run.
 *
 * Keys share the `{runId}` hash tag, so a run's keys live on one Redis Cluster
 * slot and its scripts stay atomic. Everything of a run expires
 * RUN_LOG_RETENTION_MS after its last event or lease renewal.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis, type Result } from 'ioredis';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { RunEvent, RunEventBody } from '../events/run-event.js';
import { encodeCursor } from '../runs/cursor.js';
import type { RunLog } from '../runs/run-log.js';
import type {
  SharedRunInfo,
  SharedRunLease,
  SharedRunMirror,
  SharedRunStore,
  SharedRunWriter,
} from '../runs/shared-run-store.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS lease, log, meta; ARGV owner, seq, event JSON, channel, ttl ms, max events. 1 stored, 2 already stored, 0 not the holder, -1 out of order. */
    hgwAppend(
      ...args: [string, string, string, string, string, string, string, string, string]
    ): Result<number, Context>;
    /** KEYS lease, log, meta; ARGV owner, ttl ms (lease), ttl ms (log). 1 renewed, 0 lost. */
    hgwRenew(...args: [string, string, string, string, string, string]): Result<number, Context>;
    /** KEYS lease; ARGV owner, channel. 1 released, 0 was not the holder. */
    hgwRelease(...args: [string, string, string]): Result<number, Context>;
  }
}

const appendScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local seq = tonumber(ARGV[2])
local last = tonumber(redis.call('HGET', KEYS[3], 'last') or '0')
if seq <= last then return 2 end
if seq ~= last + 1 then return -1 end
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], '0-' .. ARGV[2], 'e', ARGV[3])
redis.call('HSET', KEYS[3], 'last', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return 1
`;

const renewScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 1
`;

const releaseScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], '{"released":true}')
return 1
`;

export interface RedisRunStoreOptions {
  readonly url: string;
  /** Prefix of every key and channel. */
  readonly keyPrefix: string;
  /** A lease not renewed for this long passes to another replica (ms). */
  readonly leaseMs: number;
  /** How long a run's shared log lives after its last event (ms). */
  readonly retentionMs: number;
  /** Most events a run's stream keeps (oldest trimmed). */
  readonly maxEvents: number;
  readonly logger: Logger;
}

/** Connects to Redis; rejects with LOG_UNAVAILABLE when it cannot be reached. */
export async function connectRedisRunStore(options: RedisRunStoreOptions): Promise<SharedRunStore> {
  const connect = (name: string) =>
    new Redis(options.url, {
      connectionName: `hatchet-gateway-${name}`,
      lazyConnect: true,
      // a command waits for a reconnect a little, then fails: a coded error beats a hang
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
  const commands = connect('commands');
  const subscriber = connect('events');
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw new GatewayError('LOG_UNAVAILABLE', `Cannot reach Redis at REDIS_URL.`, { cause: error });
  }
  commands.defineCommand('hgwAppend', { numberOfKeys: 3, lua: appendScript });
  commands.defineCommand('hgwRenew', { numberOfKeys: 3, lua: renewScript });
  commands.defineCommand('hgwRelease', { numberOfKeys: 1, lua: releaseScript });
  for (const connection of [commands, subscriber]) {
    connection.on('error', (err: Error) => options.logger.warn({ err }, 'redis connection error'));
  }
  return new RedisRunStore(commands, subscriber, options);
}

class RedisRunStore implements SharedRunStore {
  readonly #replica = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** Channel -> message handler of the mirror listening on it. */
  readonly #channels = new Map<string, (message: string) => void>();

  constructor(
    private readonly commands: Redis,
    private readonly subscriber: Redis,
    private readonly options: RedisRunStoreOptions,
  ) {
    subscriber.on('message', (channel: string, message: string) => this.#channels.get(channel)?.(message));
  }

  #keys(runId: string) {
    const base = `${this.options.keyPrefix}:{${runId}}`;
    return { log: `${base}:log`, meta: `${base}:meta`, lease: `${base}:lease`, channel: `${base}:events` };
  }

  async open(runId: string, correlation?: SharedRunInfo['correlation']): Promise<SharedRunInfo> {
    const keys = this.#keys(runId);
    const fields: Record<string, string> = { epoch: randomBytes(6).toString('base64url') };
    if (correlation) fields['correlation'] = JSON.stringify(correlation);
    const meta = await unavailable('opening the run log', async () => {
      const tx = this.commands.multi();
      for (const [field, value] of Object.entries(fields)) tx.hsetnx(keys.meta, field, value);
      // a run nobody records yet still expires; recording extends it
      tx.pexpire(keys.meta, this.options.retentionMs, 'NX');
      tx.hgetall(keys.meta);
      const results = await tx.exec();
      return (results?.at(-1)?.[1] ?? {}) as Record<string, string>;
    });
    const epoch = meta['epoch'];
    if (!epoch) throw new GatewayError('LOG_UNAVAILABLE', 'The shared run log has no epoch.');
    return { epoch, correlation: meta['correlation'] ? parseCorrelation(meta['correlation']) : null };
  }

  async mirror(log: RunLog, onReleased: () => void): Promise<SharedRunMirror> {
    const keys = this.#keys(log.runId);
    let chain: Promise<void> = Promise.resolve();
    let closed = false;
    const fetchMissing = async () => {
      for (;;) {
        if (closed || log.complete) return;
        const start = log.lastSeq === 0 ? '-' : `(0-${log.lastSeq}`;
        const page = await this.commands.xrange(keys.log, start, '+', 'COUNT', 500);
        for (const [id, fields] of page) {
          const event = parseEvent(fields[1] ?? '', seqOf(id));
          if (log.size === 0 && log.lastSeq === 0 && event.seq > 1) log.startAt(event.seq);
          if (!log.restore(event)) {
            // the stream was trimmed past what this mirror holds: its readers get CURSOR_EXPIRED
            log.interrupt(
              new GatewayError('CURSOR_EXPIRED', 'The shared run log dropped events this gateway had not read.'),
            );
            return;
          }
        }
        if (page.length < 500) return;
      }
    };
    const catchUp = (): Promise<void> => {
      const next = chain.then(() => unavailable('reading the run log', fetchMissing));
      chain = next.catch((error: unknown) => {
        this.options.logger.warn({ runId: log.runId, err: error }, 'run log catch-up failed');
      });
      return next;
    };
    this.#channels.set(keys.channel, (message) => {
      if (message === '{"released":true}') {
        onReleased();
        return;
      }
      let event: RunEvent;
      try {
        event = parseEvent(message);
      } catch (error) {
        this.options.logger.warn({ runId: log.runId, err: error }, 'unreadable event on the run channel');
        return;
      }
      // the channel gives an event at once; a hole (a message missed) is fetched from the stream
      if (!log.restore(event)) void catchUp().catch(() => {});
    });
    try {
      await unavailable('following the run log', () => this.subscriber.subscribe(keys.channel));
      await catchUp();
    } catch (error) {
      // nobody will close a mirror that failed to open: let go of its channel now
      closed = true;
      this.#channels.delete(keys.channel);
      await this.subscriber.unsubscribe(keys.channel).catch(() => {});
      throw error;
    }
    return {
      catchUp,
      close: async () => {
        closed = true;
        this.#channels.delete(keys.channel);
        await this.subscriber.unsubscribe(keys.channel).catch(() => {});
      },
    };
  }

  async claim(runId: string): Promise<SharedRunLease | null> {
    const keys = this.#keys(runId);
    const owner = `${this.#replica}:${randomBytes(4).toString('hex')}`;
    const { leaseMs, retentionMs } = this.options;
    const got = await unavailable('claiming the run', () => this.commands.set(keys.lease, owner, 'PX', leaseMs, 'NX'));
    if (got !== 'OK') return null;
    const lost = new AbortController();
    // renewing three times per lease period survives one slow round trip
    const timer = setInterval(
      () => {
        this.commands
          .hgwRenew(keys.lease, keys.log, keys.meta, owner, String(leaseMs), String(retentionMs))
          .then((renewed) => {
            if (renewed !== 1) lose();
          })
          .catch((error: unknown) => this.options.logger.warn({ runId, err: error }, 'lease renewal failed'));
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    timer.unref();
    const lose = () => {
      clearInterval(timer);
      lost.abort();
    };
    return {
      token: owner,
      lost: lost.signal,
      release: async () => {
        lose();
        await this.commands.hgwRelease(keys.lease, owner, keys.channel).catch(() => {});
      },
    };
  }

  async bodies(runId: string): Promise<RunEventBody[]> {
    const keys = this.#keys(runId);
    const out: RunEventBody[] = [];
    let start = '-';
    for (;;) {
      const page = await unavailable('reading the run log', () =>
        this.commands.xrange(keys.log, start, '+', 'COUNT', 1000),
      );
      for (const [id, fields] of page) {
        out.push(parseEvent(fields[1] ?? '', seqOf(id)));
        start = `(${id}`;
      }
      if (page.length < 1000) return out;
    }
  }

  writer(log: RunLog, lease: SharedRunLease, onStored: (event: RunEvent) => void): SharedRunWriter {
    const keys = this.#keys(log.runId);
    const owner = lease.token;
    const { retentionMs, maxEvents, logger } = this.options;
    const queue: RunEvent[] = [];
    let seq = log.lastSeq;
    let flushing: Promise<void> | null = null;

    const store = async (event: RunEvent): Promise<boolean> => {
      // a passing Redis failure must not lose an event: retry until stored or the lease is gone
      for (let attempt = 0; !lease.lost.aborted; attempt++) {
        try {
          const result = await this.commands.hgwAppend(
            keys.lease,
            keys.log,
            keys.meta,
            owner,
            String(event.seq),
            JSON.stringify(event),
            keys.channel,
            String(retentionMs),
            String(maxEvents),
          );
          if (result === 1 || result === 2) return true;
          logger.warn(
            { runId: log.runId, seq: event.seq, result },
            'append refused: this replica no longer records the run',
          );
          return false;
        } catch (error) {
          logger.warn({ runId: log.runId, err: error, attempt }, 'append to the shared run log failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
        }
      }
      return false;
    };

    const flush = async () => {
      while (queue.length > 0) {
        const event = queue[0] as RunEvent;
        if (!(await store(event))) {
          queue.length = 0;
          return;
        }
        queue.shift();
        onStored(event);
      }
    };

    return {
      runId: log.runId,
      append: (body, at) => {
        if (lease.lost.aborted) return;
        seq++;
        queue.push({ ...body, runId: log.runId, seq, cursor: encodeCursor(log.runId, log.epoch, seq), at });
        flushing ??= flush().finally(() => {
          flushing = null;
        });
      },
      drain: async () => {
        while (flushing) await flushing;
      },
    };
  }

  async close(): Promise<void> {
    this.#channels.clear();
    await Promise.all([this.commands.quit().catch(() => {}), this.subscriber.quit().catch(() => {})]);
  }
}

function seqOf(id: string): number {
  return Number(id.slice(id.indexOf('-') + 1));
}

function parseEvent(json: string, seq?: number): RunEvent {
  const raw = JSON.parse(json) as RunEvent & { at: string };
  const event = { ...raw, at: new Date(raw.at) } as RunEvent;
  if (seq !== undefined && event.seq !== seq) throw new Error(`stream entry ${seq} holds event ${event.seq}`);
  return event;
}

function parseCorrelation(json: string): SharedRunInfo['correlation'] {
  const value = JSON.parse(json) as { key?: unknown; value?: unknown };
  return typeof value.key === 'string' && typeof value.value === 'string'
    ? { key: value.key, value: value.value }
    : null;
}

async function unavailable<T>(doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('LOG_UNAVAILABLE', `The shared run log failed while ${doing}.`, { cause: error });
  }
}
