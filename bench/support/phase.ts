/**
 * Measures a process (and optionally the engine's sidecar) over one phase of
 * a bench: CPU time and cores used, peak RSS, and the gateway's upstream
 * listener count polled from /metrics while the phase lasts.
 */
import { cpus } from 'node:os';
import { readCpuSeconds, readMachineCpu, readTreeCpuSeconds, sampleMemory } from './proc-stats.js';
import { mib } from './results.js';

export interface PhaseOptions {
  readonly pid: number;
  readonly sidecarPid?: number | undefined;
  /** Polled every 500 ms; the highest and lowest values seen are kept. */
  readonly gauge?: () => Promise<number | undefined>;
}

export interface PhaseResult {
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** CPU seconds per wall second (1 = one core busy). */
  readonly cores: number;
  readonly peakRssMiB: number;
  readonly engineCpuSeconds: number | null;
  readonly engineCores: number | null;
  /** Sidecar plus its Postgres. */
  readonly engineTreeCores: number | null;
  readonly gaugeMax: number | null;
  readonly gaugeMin: number | null;
  /** Cores busy on the whole machine (everything: this bench, the engine, and anyone else's processes). */
  readonly machineBusyCores: number;
}

const round = (value: number) => Math.round(value * 100) / 100;

export async function startPhase(options: PhaseOptions): Promise<{ stop(): Promise<PhaseResult> }> {
  const startedAt = performance.now();
  const cpu0 = await readCpuSeconds(options.pid);
  const engine0 = options.sidecarPid ? await readCpuSeconds(options.sidecarPid) : 0;
  const tree0 = options.sidecarPid ? await readTreeCpuSeconds(options.sidecarPid) : 0;
  const machine0 = await readMachineCpu();
  const memory = sampleMemory(options.pid, 100);
  let gaugeMax: number | null = null;
  let gaugeMin: number | null = null;
  const poll = async () => {
    const value = await options.gauge?.().catch(() => undefined);
    if (value === undefined) return;
    gaugeMax = Math.max(gaugeMax ?? value, value);
    gaugeMin = Math.min(gaugeMin ?? value, value);
  };
  void poll();
  const timer = options.gauge ? setInterval(() => void poll(), 500) : undefined;
  return {
    async stop() {
      if (timer) clearInterval(timer);
      const seconds = (performance.now() - startedAt) / 1000;
      const cpuSeconds = (await readCpuSeconds(options.pid)) - cpu0;
      const { peakRssBytes, hwmBytes } = await memory.stop();
      const engineCpu = options.sidecarPid ? (await readCpuSeconds(options.sidecarPid)) - engine0 : null;
      const treeCpu = options.sidecarPid ? (await readTreeCpuSeconds(options.sidecarPid)) - tree0 : null;
      const machine1 = await readMachineCpu();
      const machineBusyCores = ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * cpus().length;
      return {
        seconds: round(seconds),
        cpuSeconds: round(cpuSeconds),
        cores: round(cpuSeconds / seconds),
        peakRssMiB: mib(Math.max(peakRssBytes, hwmBytes)),
        engineCpuSeconds: engineCpu === null ? null : round(engineCpu),
        engineCores: engineCpu === null ? null : round(engineCpu / seconds),
        engineTreeCores: treeCpu === null ? null : round(treeCpu / seconds),
        gaugeMax,
        gaugeMin,
        machineBusyCores: round(machineBusyCores),
      };
    },
  };
}

/** Polls `read` every 100 ms until it is at least `target`, for at most `timeoutMs`; returns the last value. */
export async function waitForAtLeast(read: () => Promise<number>, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value < target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}
