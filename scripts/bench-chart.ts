/**
 * `npm run bench:chart`: draws the charts of BENCHMARKS.md from the benches'
 * JSON (bench/results/*.json, or BENCH_RESULTS_DIR) as hand-written SVG,
 * rendered to docs/bench-*.png with resvg. A chart whose results are missing
 * is skipped with a note.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Resvg } from '@resvg/resvg-js';

const resultsDir = process.env['BENCH_RESULTS_DIR'] ?? new URL('../bench/results/', import.meta.url).pathname;
const docsDir = new URL('../docs/', import.meta.url);
const colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

interface Series {
  readonly name: string;
  readonly points: Array<[number, number]>;
  readonly dashed?: boolean;
}

interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: Series[];
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Horizontal reference lines, e.g. a target. */
  readonly rules?: Array<{ y: number; label: string }>;
}

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
      }
    }
    return ticks;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 5));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 7) ?? step * 10;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / nice) * nice; v <= max + 1e-9; v += nice) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function label(v: number): string {
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** One panel at (x0, y0), `w` x `h`. */
function panel(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = x0 + 70;
  const right = x0 + w - 20;
  const top = y0 + 40;
  const bottom = y0 + h - 90;
  const all = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const ys = [...all.map(([, y]) => y), ...(p.rules ?? []).map((r) => r.y)];
  let [xMin, xMax] = [Math.min(...all.map(([x]) => x)), Math.max(...all.map(([x]) => x))];
  let [yMin, yMax] = [Math.min(...ys), Math.max(...ys)];
  if (p.logX) [xMin, xMax] = [10 ** Math.floor(Math.log10(xMin)), 10 ** Math.ceil(Math.log10(xMax))];
  if (p.logY) [yMin, yMax] = [10 ** Math.floor(Math.log10(Math.max(yMin, 0.1))), 10 ** Math.ceil(Math.log10(yMax))];
  else [yMin, yMax] = [0, yMax * 1.08];
  if (!p.logX && xMin > 0) xMin = 0;
  const sx = (x: number) =>
    p.logX
      ? left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (right - left)
      : left + ((x - xMin) / (xMax - xMin || 1)) * (right - left);
  const sy = (y: number) =>
    p.logY
      ? bottom -
        ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (bottom - top)
      : bottom - ((y - yMin) / (yMax - yMin || 1)) * (bottom - top);
  const parts: string[] = [
    `<text x="${x0 + w / 2}" y="${y0 + 24}" text-anchor="middle" font-size="16" font-weight="bold">${xml(p.title)}</text>`,
  ];
  for (const t of niceTicks(yMin, yMax, p.logY ?? false)) {
    parts.push(`<line x1="${left}" x2="${right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${label(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax, p.logX ?? false)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${top}" y2="${bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${sx(t)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${label(t)}</text>`);
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#999"/>`,
  );
  parts.push(
    `<text x="${(left + right) / 2}" y="${bottom + 36}" text-anchor="middle" font-size="12">${xml(p.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(${x0 + 16} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${xml(p.yLabel)}</text>`,
  );
  for (const rule of p.rules ?? []) {
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${sy(rule.y)}" y2="${sy(rule.y)}" stroke="#555" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${right - 4}" y="${sy(rule.y) - 5}" text-anchor="end" font-size="11" fill="#555">${xml(rule.label)}</text>`,
    );
  }
  p.series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    if (pts.length <= 20) {
      for (const [x, y] of pts) parts.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="3.5" fill="${color}"/>`);
    }
    const lx = left + (i % 2) * ((right - left) / 2);
    const ly = bottom + 56 + Math.floor(i / 2) * 16;
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    parts.push(`<text x="${lx + 28}" y="${ly}" font-size="11">${xml(s.name)}</text>`);
  });
  return parts.join('\n');
}

async function render(name: string, title: string, panels: Panel[], note: string): Promise<void> {
  const w = 560;
  const h = 440;
  const width = w * panels.length;
  const height = h + 50;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Liberation Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="19" font-weight="bold">${xml(title)}</text>`,
    ...panels.map((p, i) => panel(p, i * w, 36, w, h - 10)),
    `<text x="10" y="${height - 8}" font-size="10" fill="#666">${xml(note)}</text>`,
    '</svg>',
  ].join('\n');
  await mkdir(docsDir, { recursive: true });
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 1.5 }, font: { loadSystemFonts: true } }).render().asPng();
  const file = new URL(`bench-${name}.png`, docsDir);
  await writeFile(file, png);
  process.stdout.write(`wrote ${file.pathname}\n`);
}

async function load<T>(name: string): Promise<T | undefined> {
  const file = `${resultsDir.replace(/\/?$/, '/')}${name}.json`;
  if (!existsSync(file)) {
    process.stdout.write(`skipped ${name}: no ${file} (run npm run bench -- ${name})\n`);
    return undefined;
  }
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

interface Stamp {
  machine: { cpus: number; cpuModel: string; node: string };
  code: { commit: string };
  at: string;
}
const stamp = (r: Stamp) =>
  `${r.machine.cpus} cores (${r.machine.cpuModel}), Node ${r.machine.node}, commit ${r.code.commit}, ${r.at.slice(0, 16)}Z`;

type Row = Record<string, number | string | null>;

const overhead = await load<Stamp & { latencies: Record<string, Array<[number, number]>>; chunks: number }>('overhead');
if (overhead) {
  const series = Object.entries(overhead.latencies).map(([name, pairs]) => {
    const sorted = pairs.map(([, l]) => l).sort((a, b) => a - b);
    return {
      name: `${name} (${sorted.length}/${overhead.chunks})`,
      points: sorted.map((l, i) => [l, ((i + 1) / sorted.length) * 100] as [number, number]),
    };
  });
  await render(
    'overhead',
    `Overhead: ${overhead.chunks} chunks`,
    [{ title: 'Latency CDF per path', xLabel: 'latency (ms, log)', yLabel: '% of chunks', series, logX: true }],
    stamp(overhead),
  );
}

const fanout = await load<Stamp & { rows: Row[] }>('fanout');
const proxy = await load<Stamp & { rows: Row[] }>('proxy');
if (fanout || proxy) {
  const pick = (rows: Row[] | undefined, where: (r: Row) => boolean, x: string, y: string) =>
    (rows ?? []).filter(where).map((r) => [Number(r[x]), Number(r[y])] as [number, number]);
  const all = () => true;
  const isProxy = (r: Row) => String(r['server']).startsWith('guide');
  const isGatewaySse = (r: Row) => String(r['server']).startsWith('gateway');
  const latency: Panel = {
    title: 'Delivery latency vs subscribers',
    xLabel: 'subscribers (log)',
    yLabel: 'ms (log)',
    logX: true,
    logY: true,
    rules: [{ y: 250, label: 'target: p99 < 250 ms at 5000' }],
    series: [
      { name: 'gateway graphql-ws p50', points: pick(fanout?.rows, all, 'subscribers', 'p50 ms'), dashed: true },
      { name: 'gateway graphql-ws p99', points: pick(fanout?.rows, all, 'subscribers', 'p99 ms') },
      { name: 'gateway SSE p99', points: pick(proxy?.rows, isGatewaySse, 'clients', 'p99 ms') },
      { name: 'guide proxy SSE p99', points: pick(proxy?.rows, isProxy, 'clients', 'p99 ms') },
    ].filter((s) => s.points.length > 0),
  };
  const memory: Panel = {
    title: 'Server memory and engine listeners',
    xLabel: 'subscribers (log)',
    yLabel: 'peak RSS MiB / listeners (log)',
    logX: true,
    logY: true,
    series: [
      { name: 'gateway ws peak RSS MiB', points: pick(fanout?.rows, all, 'subscribers', 'gw peak MiB') },
      { name: 'guide proxy peak RSS MiB', points: pick(proxy?.rows, isProxy, 'clients', 'peak MiB') },
      {
        name: 'gateway engine listeners',
        points: pick(fanout?.rows, all, 'subscribers', 'engine listeners'),
        dashed: true,
      },
      {
        name: 'guide proxy engine listeners',
        points: pick(proxy?.rows, isProxy, 'clients', 'engine listeners'),
        dashed: true,
      },
    ].filter((s) => s.points.length > 0),
  };
  await render(
    'fanout',
    'Fan-out: one run, 20 chunks/s for 10 s',
    [latency, memory],
    stamp((fanout ?? proxy) as Stamp),
  );
}

const throughput = await load<Stamp & { rows: Row[]; p99LimitMs: number; subscribers: number }>('throughput');
if (throughput) {
  const pick = (y: string) =>
    throughput.rows.map((r) => [Number(r['delivered events/s']), Number(r[y])] as [number, number]);
  await render(
    'throughput',
    `Throughput: ${throughput.subscribers} graphql-ws subscribers`,
    [
      {
        title: 'Latency vs delivered events/s',
        xLabel: 'events/s delivered (all subscribers)',
        yLabel: 'ms (log)',
        logY: true,
        rules: [{ y: throughput.p99LimitMs, label: `p99 limit ${throughput.p99LimitMs} ms` }],
        series: [
          { name: 'p50', points: pick('p50 ms'), dashed: true },
          { name: 'p99', points: pick('p99 ms') },
          { name: 'engine alone (one SDK listener) p99', points: pick('SDK p99 ms'), dashed: true },
        ].filter((series) => series.points.every(([, y]) => Number.isFinite(y))),
      },
    ],
    stamp(throughput),
  );
}

const runs = await load<Stamp & { rows: Row[]; chunks: number }>('runs');
const runsUnpatched = await load<Stamp & { rows: Row[] }>('runs-unpatched');
if (runs) {
  // rows without another process keeping a core busy, by R
  const series = (rows: Row[] | undefined, mode: string, y: (r: Row) => number) =>
    (rows ?? [])
      .filter((r) => r['mode'] === mode && !r['busy'])
      .map((r) => [Number(r['R']), (y(r) / Number(r['R'])) * 100] as [number, number]);
  const whole = (r: Row) => Number(r['whole']);
  const silent = (r: Row) => Number(r['silent loss']);
  const sdk = (r: Row) => Number(r['SDK whole']);
  const both = (label: string, y: (r: Row) => number): Series[] =>
    [
      { name: `kit, our engine ${label}`, points: series(runs.rows, 'kit', y) },
      { name: `plain putStream, our engine ${label}`, points: series(runs.rows, 'plain', y), dashed: true },
      { name: `kit, engine as released ${label}`, points: series(runsUnpatched?.rows, 'kit', y) },
      {
        name: `plain putStream, engine as released ${label}`,
        points: series(runsUnpatched?.rows, 'plain', y),
        dashed: true,
      },
    ].filter((s) => s.points.length > 0);
  await render(
    'runs',
    `Streams at load: R runs at once, ${runs.chunks} chunks each, one subscriber per run`,
    [
      {
        title: 'Runs whole (every chunk, exact text)',
        xLabel: 'runs at once (R)',
        yLabel: '% of runs',
        series: [
          ...both('', whole),
          { name: "raw SDK listener (guide's way), our engine", points: series(runs.rows, 'plain', sdk), dashed: true },
          {
            name: 'raw SDK listener, engine as released',
            points: series(runsUnpatched?.rows, 'plain', sdk),
            dashed: true,
          },
        ].filter((s) => s.points.length > 0),
      },
      {
        title: 'Silent loss (something missing, nothing said)',
        xLabel: 'runs at once (R)',
        yLabel: '% of runs',
        series: both('', silent),
      },
    ],
    stamp(runs),
  );
}
