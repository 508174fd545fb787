/**
 * What Linux says about a process of this machine (/proc): resident memory
 * now and at its peak, CPU time, and child processes. Bench-only; Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

export interface MemoryReading {
  /** Resident set size now (VmRSS), bytes. */
  readonly rssBytes: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  readonly hwmBytes: number;
}

function kilobytes(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`no ${key} in /proc status`);
  return Number(match[1]) * 1024;
}

/** VmRSS and VmHWM of `pid`. */
export async function readMemory(pid: number): Promise<MemoryReading> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: kilobytes(status, 'VmRSS'), hwmBytes: kilobytes(status, 'VmHWM') };
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function statFields(stat: string): string[] {
  // the command name may hold spaces and parentheses: fields start after the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU time `pid` has used, in seconds. */
export async function readCpuSeconds(pid: number): Promise<number> {
  const fields = statFields(await readFile(`/proc/${pid}/stat`, 'utf8'));
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Processes whose parent is `pid`, with their command names (truncated to 15 characters by Linux). */
export async function childProcesses(pid: number): Promise<Array<{ pid: number; name: string }>> {
  const children: Array<{ pid: number; name: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const fields = statFields(stat);
    if (Number(fields[1]) === pid) {
      children.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    }
  }
  return children;
}

/** CPU seconds of `pid` and every process below it. */
export async function readTreeCpuSeconds(pid: number): Promise<number> {
  let total = await readCpuSeconds(pid).catch(() => 0);
  for (const child of await childProcesses(pid)) total += await readTreeCpuSeconds(child.pid);
  return total;
}

export interface MemorySampler {
  /** Stops sampling; the highest VmRSS seen and the process's VmHWM at that moment. */
  stop(): Promise<{ peakRssBytes: number; hwmBytes: number; samples: number }>;
}

/** Reads VmRSS of `pid` every `intervalMs` and keeps the highest. */
export function sampleMemory(pid: number, intervalMs = 100): MemorySampler {
  let peak = 0;
  let samples = 0;
  const take = async () => {
    const reading = await readMemory(pid).catch(() => undefined);
    if (reading) {
      peak = Math.max(peak, reading.rssBytes);
      samples++;
    }
  };
  void take();
  const timer = setInterval(() => void take(), intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await take();
      const { hwmBytes } = await readMemory(pid).catch(() => ({ hwmBytes: 0 }));
      return { peakRssBytes: peak, hwmBytes, samples };
    },
  };
}

/** Busy and total CPU time of the whole machine so far (/proc/stat), in clock ticks. */
export async function readMachineCpu(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}
