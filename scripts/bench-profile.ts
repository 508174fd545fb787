/**
 * `npm run bench:profile -- <file.cpuprofile | folder>`: the top self-time
 * functions of a V8 CPU profile (node --cpu-prof; the benches write the
 * gateway's with BENCH_CPU_PROF=1), and self time by package or source
 * folder. Prints markdown tables; with a folder, reads its largest profile
 * (the main thread's: node also profiles its module loader thread).
 * TOP (default 25) sets the number of rows.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

async function newestProfile(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const files = (await readdir(path)).filter((f) => f.endsWith('.cpuprofile'));
  const sized = await Promise.all(files.map(async (f) => ({ f, size: (await stat(join(path, f))).size })));
  const largest = sized.sort((a, b) => b.size - a.size)[0];
  if (!largest) throw new Error(`no .cpuprofile in ${path}`);
  return join(path, largest.f);
}

/** Where a function lives: a package under node_modules, a project folder, or node's own code. */
export function owner(url: string): string {
  if (!url) return '(native: syscalls, V8 builtins)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  const project = /\/(src\/[^/]+|bench|examples)\//.exec(url);
  if (project?.[1]) return project[1];
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  if (path.includes('node_modules/')) return path.replace(/^.*node_modules\//, '');
  return path.replace(/^.*?\/(src|bench|examples)\//, '$1/');
}

const arg = process.argv[2];
if (!arg) {
  process.stderr.write('usage: npm run bench:profile -- <file.cpuprofile | folder>\n');
  process.exit(2);
}
const file = await newestProfile(arg);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfByNode = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfByNode.set(id, (selfByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const total = [...selfByNode.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byOwner = new Map<string, number>();
for (const [id, micros] of selfByNode) {
  const node = byId.get(id);
  if (!node) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} | ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  if (functionName === '(idle)' || functionName === '(program)') continue;
  const who = functionName === '(garbage collector)' ? '(garbage collector)' : owner(url);
  byOwner.set(who, (byOwner.get(who) ?? 0) + micros);
}
const top = Number(process.env['TOP'] ?? 25);
const idle = [...byFunction].filter(([key]) => /^\((idle|program)\) \|/.test(key)).reduce((a, [, m]) => a + m, 0);
const busy = total - idle;
const pct = (micros: number) => `${((micros / total) * 100).toFixed(1)}%`;
const busyPct = (micros: number) => `${((micros / busy) * 100).toFixed(1)}%`;
const ms = (micros: number) => (micros / 1000).toFixed(0);
const lines = [
  `profile: ${file}`,
  `sampled ${ms(total)} ms over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s of wall time, ${ms(busy)} ms busy (not idle)`,
  '',
  '| self ms | self % | % of busy | function | where |',
  '|---:|---:|---:|---|---|',
  ...[...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, micros]) => {
      const [name, where] = key.split(' | ');
      const ofBusy = /^\((idle|program)\)$/.test(name ?? '') ? '' : busyPct(micros);
      return `| ${ms(micros)} | ${pct(micros)} | ${ofBusy} | \`${name}\` | ${where} |`;
    }),
  '',
  '| self ms | self % | % of busy | package or folder |',
  '|---:|---:|---:|---|',
  ...[...byOwner]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([name, micros]) => `| ${ms(micros)} | ${pct(micros)} | ${busyPct(micros)} | ${name} |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
