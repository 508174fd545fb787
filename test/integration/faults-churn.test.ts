/**
 * Fault: subscriber churn. 500 graphql-ws clients (raw sockets) follow a few
 * long-running stream-text runs and some finished ones for CHURN_DURATION_MS
 * (default 60 s), and drop at random: unsubscribe, TCP drop without a close
 * handshake, normal close, then come back and resume with their last cursor
 * (or start over after CURSOR_EXPIRED). The gateway runs in its own process
 * with a short RUN_LOG_RETENTION_MS, so finished runs are forgotten and
 * recorded again while the churn goes on.
 *
 * Checked during the churn: every subscription's events are consecutive
 * positions of one run log (no gap, no duplicate, from right after its cursor),
 * every position carries the same event for every client, and a subscription
 * that completes ends with the run's status; each long run, assembled, has every
 * status and output. Afterwards: the gateway counts no subscriber, then no
 * engine listener and no run log; the test process saw no unhandled rejection;
 * the gateway logged no error; and its heap after a full collection is back
 * near where it was before the churn (RSS is printed, with a looser bound).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHatchetAdapter } from '../../src/engine/hatchet-adapter.js';
import { STREAM_CONTROL_PREFIX } from '../../src/frames/stream-control.js';
import { decodeCursor } from '../../src/runs/cursor.js';
import { until } from '../helpers/faults/dedicated-engine.js';
import { type MemorySample, mb, measureAfterGc } from '../helpers/faults/process-memory.js';
import { followRun, RawGraphqlWs, type WireError } from '../helpers/faults/raw-ws.js';
import { checkStreamTextRun, metric } from '../helpers/faults/sequences.js';
import { freePort } from '../helpers/free-port.js';
import { type GatewayProcess, killGatewayProcesses, startGatewayProcess } from '../helpers/gateway-process.js';
import { RUN_EVENTS, TRIGGER, type WireEvent } from '../helpers/operations.js';
import { engineClient, httpGraphQL, triggerRun } from '../helpers/test-gateway.js';

const DURATION_MS = Number(process.env['CHURN_DURATION_MS'] ?? 60_000);
const CLIENTS = Number(process.env['CHURN_CLIENTS'] ?? 500);
/** Long runs streaming at once; each streams 208 chunks 80 ms apart (about 17 s). */
const LIVE_RUNS = 3;
const LONG_TEXT = 'abcdefghijklmnopqrstuvwxyz'.repeat(16);
const LONG_INPUT = { text: LONG_TEXT, chunkSize: 2, delayMs: 80 };
const LONG_RUN_MS = 208 * 80;
const RETENTION_MS = 3_000;

let gateway: GatewayProcess;
let inspectorPort: number;
const gatewayLog: Array<{ level: number; msg?: string }> = [];
let unhandled = 0;
const onUnhandled = () => {
  unhandled++;
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  inspectorPort = await freePort();
  gateway = await startGatewayProcess({
    RUN_LOG_RETENTION_MS: String(RETENTION_MS),
    NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`,
    LOG_LEVEL: process.env['CHURN_LOG_LEVEL'] ?? 'warn',
  });
  let rest = '';
  gateway.child.stdout?.on('data', (data: Buffer) => {
    rest += data.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines)
      if (line.startsWith('{')) gatewayLog.push(JSON.parse(line) as { level: number; msg?: string });
  });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await killGatewayProcesses();
});

const random = (n: number) => Math.floor(Math.random() * n);
/** A client's pause between two subscriptions (load shaping, not a wait for anything). */
const thinkTime = () => new Promise((resolve) => setTimeout(resolve, 50 + random(450)));

interface Stats {
  connections: number;
  subscriptions: number;
  resumes: number;
  completed: number;
  events: number;
  unsubscribes: number;
  terminations: number;
  closes: number;
  expired: number;
}

/** What all clients saw, position by position, and every broken rule. */
class Observations {
  readonly #events = new Map<string, Map<number, string>>();
  readonly violations: string[] = [];
  readonly errorCodes = new Map<string, number>();

  /** Checks one event against what others saw at the same position of the same log. */
  see(event: WireEvent): { epoch: string; seq: number } | undefined {
    const cursor = decodeCursor(event.cursor);
    if (!cursor) {
      this.violations.push(`undecodable cursor ${event.cursor}`);
      return undefined;
    }
    const key = `${cursor.runId}:${cursor.epoch}`;
    let log = this.#events.get(key);
    if (!log) {
      log = new Map();
      this.#events.set(key, log);
    }
    const body = JSON.stringify(event);
    const seen = log.get(cursor.seq);
    if (seen === undefined) log.set(cursor.seq, body);
    else if (seen !== body) this.violations.push(`two events at ${key}:${cursor.seq}: ${seen} / ${body}`);
    return cursor;
  }

  error(errors: readonly WireError[]): void {
    for (const e of errors) {
      const code = e.extensions?.code ?? `uncoded: ${e.message}`;
      this.errorCodes.set(code, (this.errorCodes.get(code) ?? 0) + 1);
    }
  }

  /** The log of `runId` whose first event is position 1, as far as clients saw it without a hole. */
  firstRecording(runId: string): WireEvent[] {
    for (const [key, log] of this.#events) {
      if (!key.startsWith(`${runId}:`) || !log.has(1)) continue;
      const events: WireEvent[] = [];
      for (let seq = 1; log.has(seq); seq++) events.push(JSON.parse(log.get(seq) as string) as WireEvent);
      if (events.at(-1)?.__typename === 'RunStatusEvent') return events;
    }
    return [];
  }
}

type Ending = 'complete' | 'took' | 'closed' | 'error';

/**
 * One subscription on `connection`, checked as it goes: consecutive positions
 * from right after `after`. Resolves after `take` events (the subscription is
 * still open then), at its end, or when the socket closes.
 */
function follow(
  connection: RawGraphqlWs,
  id: string,
  runId: string,
  after: string | undefined,
  take: number,
  obs: Observations,
  stats: Stats,
  onCursor: (cursor: string | undefined) => void,
): Promise<Ending> {
  return new Promise((resolve) => {
    // no log here is ever over its limits, so one without a cursor starts at position 1
    let expected = after ? (decodeCursor(after)?.seq ?? 0) + 1 : 1;
    let taken = 0;
    let last: WireEvent | undefined;
    let settled = false;
    const settle = (ending: Ending) => {
      if (settled) return;
      settled = true;
      resolve(ending);
    };
    connection.subscribe(
      id,
      { query: RUN_EVENTS, variables: { runId, ...(after ? { after } : {}) } },
      {
        next: (payload) => {
          if (settled) return;
          if (payload.errors) {
            obs.error(payload.errors);
            if (payload.errors.some((e) => e.extensions?.code === 'CURSOR_EXPIRED')) {
              stats.expired++;
              onCursor(undefined);
            }
            return;
          }
          const event = payload.data?.['workflowRunEvents'] as WireEvent | undefined;
          if (!event) return;
          const position = obs.see(event);
          if (position && position.seq !== expected)
            obs.violations.push(
              `${runId}: expected position ${expected} after ${after ?? 'the start'}, got ${position.seq}`,
            );
          if (position) expected = position.seq + 1;
          last = event;
          stats.events++;
          onCursor(event.cursor);
          if (++taken >= take) settle('took');
        },
        error: (errors) => {
          obs.error(errors);
          settle('error');
        },
        complete: () => {
          if (!settled && last && last.__typename !== 'RunStatusEvent')
            obs.violations.push(`${runId}: completed after ${last.__typename}, not the run's status`);
          if (!settled) stats.completed++;
          settle('complete');
        },
      },
    );
    void connection.closed.then(() => settle('closed'));
  });
}

/** One client: connects, follows a run for a while, drops in one of several ways, comes back, until `deadline`. */
async function client(
  wsUrl: string,
  deadline: number,
  pickRun: () => string,
  obs: Observations,
  stats: Stats,
): Promise<void> {
  const cursors = new Map<string, string>();
  let connection: RawGraphqlWs | undefined;
  let operation = 0;
  await thinkTime();
  while (Date.now() < deadline) {
    if (!connection?.open) {
      connection = await RawGraphqlWs.connect(wsUrl).catch((error: unknown) => {
        obs.violations.push(`connect failed: ${String(error)}`);
        return undefined;
      });
      if (!connection) return;
      stats.connections++;
    }
    const runId = pickRun();
    const after = Math.random() < 0.8 ? cursors.get(runId) : undefined;
    const id = String(++operation);
    stats.subscriptions++;
    if (after) stats.resumes++;
    // read to the end, or drop after up to 40 events
    const readAll = Math.random() < 0.3;
    const ending = await follow(
      connection,
      id,
      runId,
      after,
      readAll ? Number.POSITIVE_INFINITY : 1 + random(40),
      obs,
      stats,
      (c) => {
        if (c) cursors.set(runId, c);
        else cursors.delete(runId);
      },
    );
    if (ending === 'took') {
      const drop = Math.random();
      if (drop < 0.5) {
        connection.complete(id);
        stats.unsubscribes++;
      } else if (drop < 0.85) {
        connection.terminate();
        stats.terminations++;
      } else {
        connection.close();
        stats.closes++;
      }
    }
    await thinkTime();
  }
  if (connection?.open) {
    if (Math.random() < 0.5) connection.terminate();
    else connection.close();
  }
}

interface LongRun {
  readonly runId: string;
  /** What a client that never dropped received. */
  readonly events: WireEvent[];
  /** The chunk indexes the engine delivered to a listener of the test's own. */
  readonly chunkIndexes: ReadonlySet<number>;
}

const engine = createHatchetAdapter(engineClient());

/**
 * Triggers stream-text through the gateway, with a listener of the test's own
 * on the engine opened first (by a metadata pair, as the gateway does): it
 * tells which chunks the engine delivered at all, so that a chunk missing at
 * the gateway can be told apart from one the engine lost.
 */
async function triggerWatched(
  input: RunShape['input'],
): Promise<{ runId: string; upstream: (afterEnd: Promise<unknown>) => Promise<Set<number>> }> {
  const probe = { key: 'faults-churn-probe', value: randomUUID() };
  const abort = new AbortController();
  const indexes = new Set<number>();
  const upstream = (async () => {
    try {
      for await (const event of engine.listen({ metadata: probe }, abort.signal)) {
        // the worker kit's close frame is not a chunk a client sees
        const chunk = event.eventType === 'STREAM' && !event.payload.startsWith(STREAM_CONTROL_PREFIX);
        if (chunk && event.eventIndex !== null) indexes.add(event.eventIndex);
        if (event.hangup) break;
      }
    } catch {
      // a failed probe only weakens the diagnosis below
    }
    return indexes;
  })();
  await new Promise((resolve) => setImmediate(resolve));
  const { body } = await httpGraphQL<{ triggerWorkflow: { runId: string } }>({ url: gateway.url }, TRIGGER, {
    workflow: 'stream-text',
    input,
    meta: { [probe.key]: probe.value },
  });
  const runId = body.data?.triggerWorkflow.runId;
  if (!runId) {
    abort.abort();
    throw new Error(`trigger failed: ${JSON.stringify(body.errors)}`);
  }
  // the engine hangs the listener up at the run's end; should it not, stop it 10 s after the run ended
  const stopAfter = (afterEnd: Promise<unknown>) => {
    void afterEnd.then(() => setTimeout(() => abort.abort(), 10_000).unref());
    return upstream;
  };
  return { runId, upstream: stopAfter };
}

interface RunShape {
  readonly input: { text: string; chunkSize: number; delayMs: number };
  readonly ms: number;
}
const LONG_RUN: RunShape = { input: LONG_INPUT, ms: LONG_RUN_MS };

/** Runs `clients` clients for `durationMs`, with LIVE_RUNS runs of `shape` streaming throughout. */
async function churn(clients: number, durationMs: number, finished: readonly string[], shape: RunShape = LONG_RUN) {
  const deadline = Date.now() + durationMs;
  const obs = new Observations();
  const stats: Stats = {
    connections: 0,
    subscriptions: 0,
    resumes: 0,
    completed: 0,
    events: 0,
    unsubscribes: 0,
    terminations: 0,
    closes: 0,
    expired: 0,
  };
  const live: string[] = [];
  const done: string[] = [...finished];
  const references: Array<Promise<LongRun>> = [];
  // each live run is followed to its end by one client that never drops; when it ends, the next one starts
  const keepStreaming = async (): Promise<void> => {
    do {
      const { runId, upstream } = await triggerWatched(shape.input);
      live.push(runId);
      const reference = followRun(gateway.wsUrl, runId);
      references.push(
        Promise.all([reference.ended, upstream(reference.ended)]).then(([, chunkIndexes]) => ({
          runId,
          events: reference.events,
          chunkIndexes,
        })),
      );
      await reference.ended;
      live.splice(live.indexOf(runId), 1);
      done.push(runId);
    } while (Date.now() + shape.ms < deadline);
  };
  const streams = Array.from({ length: LIVE_RUNS }, () => keepStreaming());
  await until(() => live.length > 0, 30_000, 'a live run');
  const pickRun = () => {
    const pool = live.length > 0 && Math.random() < 0.7 ? live : done;
    return pool[random(pool.length)] as string;
  };
  await Promise.all(Array.from({ length: clients }, () => client(gateway.wsUrl, deadline, pickRun, obs, stats)));
  await Promise.all(streams);
  return { obs, stats, references: await Promise.all(references) };
}

/** Waits until the gateway holds nothing more (no subscriber, listener or log), then measures it after a full GC. */
async function settledMemory(): Promise<MemorySample> {
  await expect.poll(() => metric(gateway.url, 'hatchet_gateway_subscribers'), { timeout: 30_000 }).toBe(0);
  // no listener of a single run is left; the process's one listener for the runs it triggers stays
  await expect.poll(() => metric(gateway.url, 'hatchet_gateway_run_listeners'), { timeout: 60_000 }).toBe(0);
  expect(await metric(gateway.url, 'hatchet_gateway_upstream_listeners')).toBeLessThanOrEqual(1);
  // finished logs go RETENTION_MS after their run's end
  await expect.poll(() => metric(gateway.url, 'hatchet_gateway_runs'), { timeout: 30_000 }).toBe(0);
  return measureAfterGc(gateway.child.pid as number, inspectorPort);
}

describe('subscriber churn', () => {
  it(
    `should survive ${CLIENTS} clients churning for ${DURATION_MS / 1000} s and return to no subscriber, no listener and its baseline memory`,
    async () => {
      const finished = await Promise.all(
        [0, 1].map(async (i) => {
          const runId = await triggerRun({ url: gateway.url }, 'stream-text', {
            text: `finished run ${i} `.repeat(4),
            chunkSize: 2,
            delayMs: 0,
          });
          await followRun(gateway.wsUrl, runId).ended;
          return runId;
        }),
      );
      // warm up the same paths at a small scale, so the baseline has them loaded and compiled
      await churn(20, 3_000, finished, {
        input: { text: 'warming up '.repeat(6), chunkSize: 2, delayMs: 40 },
        ms: 33 * 40,
      });
      const before = await settledMemory();

      const started = Date.now();
      const { obs, stats, references } = await churn(CLIENTS, DURATION_MS, finished);
      const churnMs = Date.now() - started;
      const after = await settledMemory();

      const warnings = gatewayLog.filter((l) => l.level === 40).map((l) => l.msg);
      process.stderr.write(
        `churn: ${CLIENTS} clients for ${(churnMs / 1000).toFixed(1)} s: ${stats.connections} connections, ` +
          `${stats.subscriptions} subscriptions (${stats.resumes} resumed with a cursor, ${stats.completed} completed), ` +
          `${stats.events} events; faults: ${stats.terminations} TCP drops, ${stats.unsubscribes} unsubscribes, ` +
          `${stats.closes} closes; ${stats.expired} CURSOR_EXPIRED; violations ${obs.violations.length}; ` +
          `gateway warnings: ${JSON.stringify(warnings.slice(0, 5))} (${warnings.length})\n` +
          `churn memory (gateway process, after a full GC): heap ${mb(before.heapUsed)} before, ${mb(after.heapUsed)} after; ` +
          `RSS ${mb(before.rss)} before, ${mb(after.rss)} after\n`,
      );
      expect(obs.violations.slice(0, 10)).toEqual([]);
      // the only error a churning client may meet: its cursor's log was forgotten (retention)
      expect([...obs.errorCodes.keys()].filter((code) => code !== 'CURSOR_EXPIRED')).toEqual([]);
      expect(stats.terminations + stats.unsubscribes + stats.closes).toBeGreaterThan(CLIENTS);
      expect(unhandled).toBe(0);
      expect(gatewayLog.filter((l) => l.level >= 50)).toEqual([]);
      // back to the baseline: half a kilobyte kept per subscription (over 10,000 here) would show
      expect(after.heapUsed).toBeLessThan(before.heapUsed + 8 * 1024 * 1024);
      expect(after.rss).toBeLessThan(before.rss * 2 + 64 * 1024 * 1024);

      expect(references.length).toBeGreaterThanOrEqual(LIVE_RUNS);
      let trailingLost = 0;
      let notWaitedFor = 0;
      let uncountedGaps = 0;
      for (const { runId, events, chunkIndexes } of references) {
        // statuses, outputs and order hold always; chunks the engine lost after the last one it
        // delivered leave no hole in its index to report, so they may be missing at the end ...
        const check = checkStreamTextRun(events, LONG_TEXT, 2, { allowTrailingLoss: true });
        trailingLost += check.trailing;
        // ... but only if the engine did not deliver them: what it delivered, the gateway kept
        const received = new Set<number>();
        let index = 0;
        for (const e of events) {
          if (e.__typename === 'StreamGapEvent') index += e.missedChunks ?? 0;
          if (e.__typename === 'StreamChunkEvent') received.add(index++);
        }
        const droppedByGateway = [...chunkIndexes].filter((i) => !received.has(i));
        // unless the gateway said it stopped waiting for them (an overloaded gateway reads its listener late)
        const saidSo = events.some((e) => e.__typename === 'StreamGapEvent' && e.missedChunks === null);
        if (saidSo) {
          notWaitedFor += droppedByGateway.length;
          uncountedGaps++;
        } else
          expect(
            droppedByGateway,
            `${runId}: chunks the engine delivered but the gateway did not log (its gaps: ${JSON.stringify(
              events.filter((e) => e.__typename === 'StreamGapEvent'),
            )})`,
          ).toEqual([]);
        // what the churning clients saw of the run agrees with the client that never dropped
        const assembled = obs.firstRecording(runId);
        if (assembled.length > 0) expect(assembled).toEqual(events);
      }
      process.stderr.write(
        `churn: ${references.length} long runs, ${trailingLost} chunks missing at their ends ` +
          `(${notWaitedFor} delivered by the engine after the gateway stopped waiting, behind ${uncountedGaps} ` +
          `uncounted gap(s); the rest lost by the engine)\n`,
      );
    },
    DURATION_MS + 240_000,
  );
});
