/**
 * `npm run bench -- runs`: the load benchmark of issue 13. Does a client see
 * every chunk a step streamed, or is it told exactly what is missing, when
 * many runs stream at once? Per row, R `bench-runs` runs are triggered at once
 * through the gateway's `triggerWorkflow` (HTTP); one graphql-ws follower per
 * run (bench/processes/run-followers.ts, a process of its own) subscribes, and
 * once every follower is attached the bench opens the runs' gate: each step
 * streams RUNS_CHUNKS chunks RUNS_INTERVAL_MS apart, live. Each run is then
 * - whole: every chunk, the exact text sent, no StreamGapEvent;
 * - gap said: something missing (or the text differs) and at least one StreamGapEvent;
 * - silent loss: something missing (or the text differs) and no StreamGapEvent;
 * - false alarm: nothing missing, yet a StreamGapEvent;
 * - incomplete: no RunStatusEvent, or the subscription did not complete before the deadline.
 * "chunks missing" counts over the runs that are not incomplete. A raw SDK
 * listener per run in this process (`hatchet.runs.subscribeToStream`, the
 * streaming guide's way) reads the same runs: "SDK whole" is what the engine
 * alone delivers. The phase (gateway CPU and peak RSS, engine CPU with its
 * Postgres, the gateway's engine listeners) spans a row from its triggers to
 * its last subscription's end. Between rows the bench waits until the runs
 * finished and the gateway's engine listeners are back to their idle count.
 * One gateway process for all rows, connected with a token: the bench tells
 * it whether the engine orders a run's finish after its step events.
 *
 * Env: RUNS_R (10,50,100,200), RUNS_MODES (kit,plain: the worker kit's
 * `lossless`, or the SDK's bare ctx.putStream), RUNS_CHUNKS (40),
 * RUNS_INTERVAL_MS (25), RUNS_ENGINE (patched | unpatched, whose results go to runs-unpatched.json: the sidecar built by
 * `scripts/engine-build.sh --unpatched`, built first when missing),
 * RUNS_BUSY_R (100; 0: none): one more row per mode at that R with another
 * process keeping one core busy, RUNS_SDK_BASELINE (1; 0: no SDK listeners,
 * which add R listeners to the engine), BENCH_CPU_PROF=1 (V8 CPU profile of
 * the gateway into bench/results/profiles/runs/).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { STREAM_CONTROL_PREFIX } from '../src/frames/stream-control.js';
import { startBenchEngine } from './support/bench-engine.js';
import { type ChildGateway, startChildGateway } from './support/child-gateway.js';
import { summarize } from './support/percentiles.js';
import { startPhase, waitForAtLeast } from './support/phase.js';
import { waitForQuietMachine, writeResults } from './support/results.js';
import { type FollowedRun, type RunFollowersResult, startRunFollowers } from './support/run-followers.js';
import {
  forgetSent,
  openRunsGate,
  type RunsMode,
  type SentRun,
  sentRun,
  startRunsWorker,
} from './support/runs-workflow.js';
import { shutdownBench } from './support/shutdown.js';
import { wallClockMs } from './support/ticks-workflow.js';

const keepAlive = setInterval(() => {}, 1_000);
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const levels = list(process.env['RUNS_R'] ?? '10,50,100,200').map(Number);
const modes = list(process.env['RUNS_MODES'] ?? 'kit,plain') as RunsMode[];
const chunks = Number(process.env['RUNS_CHUNKS'] ?? 40);
const intervalMs = Number(process.env['RUNS_INTERVAL_MS'] ?? 25);
const engineWanted = process.env['RUNS_ENGINE'] ?? 'patched';
const busyR = Number(process.env['RUNS_BUSY_R'] ?? 100);
const sdkBaseline = process.env['RUNS_SDK_BASELINE'] !== '0';
const profileDir =
  process.env['BENCH_CPU_PROF'] === '1' ? new URL('./results/profiles/runs/', import.meta.url).pathname : undefined;
if (levels.some((r) => !Number.isInteger(r) || r < 1) || !Number.isInteger(busyR) || busyR < 0) {
  throw new Error('RUNS_R and RUNS_BUSY_R take positive integers (RUNS_BUSY_R=0: no busy rows)');
}
if (modes.length === 0 || modes.some((m) => m !== 'kit' && m !== 'plain')) {
  throw new Error('RUNS_MODES takes kit and/or plain');
}
if (engineWanted !== 'patched' && engineWanted !== 'unpatched') {
  throw new Error('RUNS_ENGINE takes patched or unpatched');
}

/** How long the bench waits for the followers' subscriptions to reach the gateway. */
const ATTACH_TIMEOUT_MS = 60_000;
/** The SDK listener looks its run up (retrying each second) before it subscribes; nothing says when it did. */
const SDK_ATTACH_MS = 2_500;
/** After the last chunk's schedule, how long runs may take to end before they count as incomplete. */
const END_MARGIN_MS = 120_000;
/** Between rows: how long the previous row's runs and engine listeners may take to wind down. */
const SETTLE_TIMEOUT_MS = 120_000;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

type Verdict = 'whole' | 'gap said' | 'silent loss' | 'false alarm' | 'incomplete';

interface SdkListener {
  text: string;
  frames: number;
  latencies: number[];
  ended: boolean;
  error?: string;
  done: Promise<void>;
}

interface RowContext {
  readonly gw: ChildGateway;
  readonly metric: (name: string) => Promise<number>;
  /** The gateway's engine listeners now. */
  readonly listeners: () => Promise<number>;
  /** Their count when no run is being followed. */
  readonly idleListeners: number;
}

interface Triggered {
  readonly run: number;
  readonly triggeredAt: number;
  readonly runId?: string;
  readonly error?: string;
  readonly sdk?: SdkListener;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Polls `read` every 250 ms until it is at most `target`, for at most `timeoutMs`; returns the last value. */
async function waitForAtMost(read: () => Promise<number>, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value > target && Date.now() < deadline) {
    await sleep(250);
    value = await read();
  }
  return value;
}

/** The unpatched sidecar: `scripts/engine-build.sh --unpatched` builds it when it is missing. */
function unpatchedSidecar(): string {
  const root = new URL('../', import.meta.url).pathname;
  const path = `${root}.engine/bin/hatchet-embedded-sidecar-unpatched`;
  if (!existsSync(path)) {
    process.stderr.write('bench: building the unpatched engine sidecar\n');
    const build = spawnSync('bash', [`${root}scripts/engine-build.sh`, '--unpatched'], { stdio: ['ignore', 2, 2] });
    if (build.status !== 0 || !existsSync(path)) throw new Error('scripts/engine-build.sh --unpatched failed');
  }
  return path;
}

/** Another process keeping one core busy; it also ends itself when this process is gone (even after SIGKILL). */
const busyChildren = new Set<ChildProcess>();
function startBusyCore(): ChildProcess {
  const script = 'const p=process.ppid;for(let i=1;;i++){if(i%5e7===0&&process.ppid!==p)process.exit(0)}';
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  busyChildren.add(child);
  child.once('exit', () => busyChildren.delete(child));
  return child;
}
async function stopBusyCore(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}
process.on('exit', () => {
  for (const child of busyChildren) child.kill('SIGKILL');
});

/** Chunks of a `bench-runs` payload stream, with each chunk's latency; control frames of the worker kit apart. */
const PIECE = /r(\d+)c(\d+)@(\d+(?:\.\d+)?);/g;

function listenWithSdk(runId: string): SdkListener {
  const listener: SdkListener = { text: '', frames: 0, latencies: [], ended: false, done: Promise.resolve() };
  listener.done = (async () => {
    for await (const payload of hatchet.runs.subscribeToStream(runId)) {
      const at = wallClockMs();
      if (payload.startsWith(STREAM_CONTROL_PREFIX)) {
        listener.frames++;
        continue;
      }
      listener.text += payload;
      for (const match of payload.matchAll(PIECE)) listener.latencies.push(at - Number(match[3]));
    }
    listener.ended = true;
  })().catch((error: unknown) => {
    listener.error = message(error);
  });
  return listener;
}

/** Indexes 0..count-1 whose chunk of run `run` is not in `text`. */
function missingIn(text: string, run: number, count: number): number[] {
  const seen = new Set<number>();
  for (const match of text.matchAll(PIECE)) if (Number(match[1]) === run) seen.add(Number(match[2]));
  const missing: number[] = [];
  for (let k = 0; k < count; k++) if (!seen.has(k)) missing.push(k);
  return missing;
}

/** When the steps sent their first and last chunk and returned, from the gate's opening (ms). */
function stepTimes(sent: Array<SentRun | undefined>, gateAt: number) {
  const steps = sent.filter((s): s is SentRun => s !== undefined);
  const since = (at: number[]) => summarize(at.filter((t) => t > 0).map((t) => t - gateAt));
  return {
    started: steps.length,
    firstChunk: since(steps.map((s) => s.firstAt)),
    lastChunk: since(steps.map((s) => s.lastAt)),
    returned: since(steps.map((s) => s.returnedAt)),
  };
}

/** Where two texts first differ, with a little of each around it. */
function firstDifference(got: string, want: string) {
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  return { at: i, got: got.slice(Math.max(0, i - 20), i + 40), want: want.slice(Math.max(0, i - 20), i + 40) };
}

function classify(followed: FollowedRun | undefined, sent: SentRun | undefined) {
  if (!followed || followed.status === null || !followed.completed) {
    return { verdict: 'incomplete' as Verdict, missing: [] as number[], textExact: false };
  }
  // chunks the step never sent (it failed or never started) are not the delivery's to lose
  const sentCount = sent?.chunks.length ?? 0;
  const missing = followed.missing.filter((k) => k < sentCount);
  const textExact = followed.text === (sent?.chunks.join('') ?? '');
  const somethingMissing = missing.length > 0 || !textExact;
  const gapped = followed.gaps > 0;
  const verdict: Verdict = somethingMissing ? (gapped ? 'gap said' : 'silent loss') : gapped ? 'false alarm' : 'whole';
  return { verdict, missing, textExact };
}

const quiet = await waitForQuietMachine();
const engine = await startBenchEngine(
  engineWanted === 'unpatched' ? { HATCHET_CLIENT_EMBEDDED_BINARY_PATH: unpatchedSidecar() } : {},
);
const hatchet = engine.connection.hatchet;
const engineLabel = engine.patches.length > 0 ? 'patched' : 'unpatched';
if (engineLabel !== engineWanted) {
  process.stderr.write(`bench: RUNS_ENGINE=${engineWanted}, but the engine reports patches [${engine.patches}]\n`);
}
const orderedFinish = engine.patches.includes('ordered-finish');

const plan: Array<{ r: number; mode: RunsMode; busy: boolean }> = [];
for (const r of levels) for (const mode of modes) plan.push({ r, mode, busy: false });
if (busyR > 0) for (const mode of modes) plan.push({ r: busyR, mode, busy: true });
const slots = Math.max(...plan.map((p) => p.r)) + 10;

let worker: { stop(): Promise<void> } | undefined;
let gateway: ChildGateway | undefined;
const rows: Array<Record<string, unknown>> = [];
const details: unknown[] = [];
try {
  worker = await startRunsWorker(hatchet, slots);
  gateway = await startChildGateway({
    // every row triggers R runs at once: the per-key trigger rate limit (120/min) would refuse most
    env: {
      ...engine.clientEnv,
      LOG_LEVEL: 'warn',
      TRIGGER_RATE_LIMIT: '0',
      ENGINE_ORDERED_FINISH: orderedFinish ? 'true' : 'false',
    },
    ...(profileDir ? { cpuProfileDir: profileDir } : {}),
  });
  const gw = gateway;
  const metric = async (name: string) => (await withTimeout(gw.metrics(), 10_000, '/metrics')).get(name) ?? 0;
  const listeners = () => metric('hatchet_gateway_upstream_listeners');
  // the gateway attaches its engine listener (the run tap) on its first trigger: warm it up, then take the idle count
  await warmUp(gw);
  const context: RowContext = { gw, metric, listeners, idleListeners: await stableValue(listeners) };
  for (const step of plan) {
    const { row, detail } = await runRow(context, step.r, step.mode, step.busy);
    rows.push(row);
    details.push(detail);
    console.table([row]);
  }
} catch (error) {
  process.stderr.write(`bench: runs failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
} finally {
  for (const child of busyChildren) await stopBusyCore(child);
  if (rows.length > 0) {
    console.table(rows);
    const path = await writeResults(engineWanted === 'unpatched' ? 'runs-unpatched' : 'runs', {
      levels,
      modes,
      chunks,
      intervalMs,
      engine: { wanted: engineWanted, patches: engine.patches, orderedFinish },
      busyR,
      sdkBaseline,
      workerSlots: slots,
      rows,
      details,
      quietMachine: quiet,
    });
    process.stderr.write(`wrote ${path}\n`);
  }
  await gateway?.stop();
  clearInterval(keepAlive);
  await shutdownBench({ ...(worker ? { worker } : {}), engine });
}

async function runRow(bench: RowContext, r: number, mode: RunsMode, busy: boolean) {
  const { gw, metric, listeners } = bench;
  const gate = `runs-${mode}-${r}${busy ? '-busy' : ''}-${Date.now()}`;
  const busyCore = busy ? startBusyCore() : undefined;
  const phase = await startPhase({ pid: gw.pid, sidecarPid: engine.sidecarPid, gauge: listeners });
  let followed: RunFollowersResult | undefined;
  let followersError: string | undefined;
  let attached = 0;
  let gateAt = 0;
  let triggered: Triggered[] = [];
  let followers: ReturnType<typeof startRunFollowers> | undefined;
  try {
    triggered = await Promise.all(
      Array.from({ length: r }, async (_, run): Promise<Triggered> => {
        const triggeredAt = wallClockMs();
        try {
          const runId = await withTimeout(
            gw.trigger('bench-runs', { run, chunks, intervalMs, mode, gate }),
            60_000,
            'triggerWorkflow',
          );
          return { run, triggeredAt, runId, ...(sdkBaseline ? { sdk: listenWithSdk(runId) } : {}) };
        } catch (error) {
          return { run, triggeredAt, error: message(error) };
        }
      }),
    );
    const started = triggered.filter((t): t is Triggered & { runId: string } => t.runId !== undefined);
    const deadlineMs = ATTACH_TIMEOUT_MS + SDK_ATTACH_MS + chunks * intervalMs + END_MARGIN_MS;
    followers = startRunFollowers({
      url: gw.wsUrl,
      runs: started.map((t) => ({ run: t.run, runId: t.runId })),
      chunks,
      deadlineMs,
    });
    const result = followers.result;
    result.catch(() => {});
    try {
      await followers.subscribed;
      attached = await waitForAtLeast(() => metric('hatchet_gateway_subscribers'), started.length, ATTACH_TIMEOUT_MS);
      if (attached < started.length) {
        process.stderr.write(`bench: only ${attached} of ${started.length} followers attached; opening the gate\n`);
      }
    } catch (error) {
      followersError = message(error);
    }
    if (sdkBaseline) await sleep(SDK_ATTACH_MS);
    gateAt = wallClockMs();
    openRunsGate(gate);
    try {
      followed = await result;
    } catch (error) {
      followersError = message(error);
    }
    // the SDK listeners end with their runs; past the followers' end, what they have is what they got
    await Promise.race([Promise.all(triggered.map((t) => t.sdk?.done)), sleep(10_000)]);
  } finally {
    openRunsGate(gate);
    await stopBusyCore(busyCore);
    await followers?.stop();
  }
  const measured = await phase.stop();

  const byRun = new Map((followed?.runs ?? []).map((f) => [f.run, f]));
  const counts: Record<Verdict, number> = {
    whole: 0,
    'gap said': 0,
    'silent loss': 0,
    'false alarm': 0,
    incomplete: 0,
  };
  let chunksMissing = 0;
  let missedReported = 0;
  let gapsUnknown = 0;
  let sdkWhole = 0;
  let textWrong = 0;
  let eventsAfterStatus = 0;
  const notCompleted: Record<string, number> = {};
  const latencies: number[] = [];
  const sdkLatencies: number[] = [];
  const durations: number[] = [];
  const failures: unknown[] = [];
  for (const t of triggered) {
    const f = byRun.get(t.run);
    const sent = sentRun(gate, t.run);
    const { verdict, missing, textExact } = classify(f, sent);
    counts[verdict]++;
    const expectedText = sent?.chunks.join('') ?? '';
    const sdkExact = t.sdk ? sent !== undefined && t.sdk.text === expectedText : false;
    if (sdkExact) sdkWhole++;
    if (t.sdk) sdkLatencies.push(...t.sdk.latencies);
    if (f) {
      latencies.push(...f.latencies);
      eventsAfterStatus += f.eventsAfterStatus;
      missedReported += f.missedChunks;
      gapsUnknown += f.gapsUnknown;
      if (f.status !== null && f.statusAt !== null) durations.push(f.statusAt - t.triggeredAt);
      if (f.status !== null && f.status !== 'COMPLETED') notCompleted[f.status] = (notCompleted[f.status] ?? 0) + 1;
    }
    if (verdict !== 'incomplete') chunksMissing += missing.length;
    if (verdict !== 'incomplete' && missing.length === 0 && !textExact) textWrong++;
    if (verdict === 'whole' && (!t.sdk || sdkExact) && f?.eventsAfterStatus === 0) continue;
    failures.push({
      run: t.run,
      runId: t.runId ?? null,
      verdict,
      triggerError: t.error,
      gateway: f
        ? {
            missing,
            received: f.received,
            duplicates: f.duplicates,
            outOfOrder: f.outOfOrder,
            strayChars: f.strayChars,
            textExact,
            ...(textExact ? {} : { firstDifference: firstDifference(f.text, expectedText) }),
            gaps: f.gaps,
            missedChunks: f.missedChunks,
            gapsUnknown: f.gapsUnknown,
            gapReasons: f.gapReasons,
            status: f.status,
            completed: f.completed,
            eventsAfterStatus: f.eventsAfterStatus,
            error: f.error,
          }
        : null,
      sdk: t.sdk
        ? {
            whole: sdkExact,
            missing: missingIn(t.sdk.text, t.run, sent?.chunks.length ?? 0),
            controlFrames: t.sdk.frames,
            ended: t.sdk.ended,
            error: t.sdk.error,
          }
        : null,
      step: sent ? { sent: sent.chunks.length, done: sent.done, error: sent.error } : null,
    });
  }
  const latency = summarize(latencies);
  const duration = summarize(durations);
  const row = {
    R: r,
    mode,
    engine: engineLabel,
    busy: busy ? '+1 core' : '',
    whole: counts.whole,
    'gap said': counts['gap said'],
    'silent loss': counts['silent loss'],
    'false alarm': counts['false alarm'],
    incomplete: counts.incomplete,
    'chunks missing': chunksMissing,
    'missedChunks reported': missedReported,
    'gaps null': gapsUnknown,
    'SDK whole': sdkBaseline ? sdkWhole : '-',
    'p50 ms': latency.p50,
    'p99 ms': latency.p99,
    'run p50 ms': Math.round(duration.p50),
    'run p99 ms': Math.round(duration.p99),
    'gw CPU s': measured.cpuSeconds,
    'gw cores': measured.cores,
    'engine cores': measured.engineTreeCores,
    'gw peak MiB': measured.peakRssMiB,
    'engine listeners': measured.gaugeMax,
  };
  if (eventsAfterStatus > 0) {
    process.stderr.write(`bench: ${eventsAfterStatus} events arrived after a RunStatusEvent\n`);
  }
  if (textWrong > 0) process.stderr.write(`bench: ${textWrong} runs had every chunk but not the exact text\n`);
  if (Object.keys(notCompleted).length > 0) {
    process.stderr.write(`bench: runs that did not complete: ${JSON.stringify(notCompleted)}\n`);
  }
  if (followersError) process.stderr.write(`bench: followers: ${followersError}\n`);

  const settled = await settle(bench, triggered, byRun);
  const detail = {
    row,
    gate,
    chunks,
    intervalMs,
    orderedFinish,
    triggerErrors: triggered.filter((t) => t.error).length,
    followersAttached: attached,
    followersError,
    followersTimedOut: followed?.timedOut ?? null,
    followersCpuSeconds: followed?.cpuSeconds ?? null,
    gateOpenedAfterTriggerMs: round(gateAt - Math.min(...triggered.map((t) => t.triggeredAt))),
    stepsAfterGateMs: stepTimes(
      triggered.map((t) => sentRun(gate, t.run)),
      gateAt,
    ),
    runsDurationAfterGateMs: summarize(
      (followed?.runs ?? []).flatMap((f) => (f.statusAt === null ? [] : [f.statusAt - gateAt])),
    ),
    chunkLatencyMs: latency,
    sdkChunkLatencyMs: sdkBaseline ? summarize(sdkLatencies) : null,
    runDurationMs: duration,
    textWrong,
    eventsAfterStatus,
    notCompleted,
    phase: measured,
    settle: settled,
    failures,
  };
  forgetSent(gate);
  return { row, detail };
}

/** Waits until the row's runs are finished (cancelling those that are not by the deadline) and the engine listeners are idle again. */
async function settle(bench: RowContext, triggered: Triggered[], byRun: Map<number, FollowedRun>) {
  const { listeners, idleListeners } = bench;
  const started = Date.now();
  const deadline = started + SETTLE_TIMEOUT_MS;
  let open = triggered.flatMap((t) => {
    const status = byRun.get(t.run)?.status;
    return t.runId && !(status && TERMINAL.has(status)) ? [t.runId] : [];
  });
  while (open.length > 0 && Date.now() < deadline) {
    const statuses = await Promise.all(open.map((id) => hatchet.runs.get_status(id).catch(() => undefined)));
    open = open.filter((_, i) => !TERMINAL.has(String(statuses[i])));
    if (open.length > 0) await sleep(1_000);
  }
  const cancelled = open;
  if (cancelled.length > 0) {
    process.stderr.write(`bench: ${cancelled.length} runs still running after ${SETTLE_TIMEOUT_MS} ms; cancelling\n`);
    await hatchet.runs.cancel({ ids: cancelled }).catch(() => {});
  }
  const left = await waitForAtMost(listeners, idleListeners, Math.max(5_000, deadline - Date.now()));
  if (left > idleListeners) {
    process.stderr.write(`bench: ${left} engine listeners after the row (idle: ${idleListeners}); going on\n`);
  }
  return { seconds: round((Date.now() - started) / 1000), cancelled, listeners: left, idleListeners };
}

/** One small run through the gateway, waited for until it finished, before the rows. */
async function warmUp(gw: ChildGateway): Promise<void> {
  const gate = `runs-warm-up-${Date.now()}`;
  openRunsGate(gate);
  const runId = await withTimeout(
    gw.trigger('bench-runs', { run: 0, chunks: 1, intervalMs, mode: 'kit', gate }),
    60_000,
    'triggerWorkflow',
  );
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let status = '';
  while (!TERMINAL.has(status) && Date.now() < deadline) {
    await sleep(500);
    status = String(await hatchet.runs.get_status(runId).catch(() => ''));
  }
  if (!TERMINAL.has(status)) process.stderr.write(`bench: the warm-up run did not finish (${status})\n`);
  forgetSent(gate);
}

/** The value `read` settles on: the same for 2 s (at most 20 s), e.g. the gateway's idle engine listeners. */
async function stableValue(read: () => Promise<number>): Promise<number> {
  const deadline = Date.now() + 20_000;
  let value = await read();
  let since = Date.now();
  while (Date.now() - since < 2_000 && Date.now() < deadline) {
    await sleep(250);
    const next = await read();
    if (next !== value) {
      value = next;
      since = Date.now();
    }
  }
  return value;
}
