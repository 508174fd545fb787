/** Latency summaries: percentiles over a sample, and a compact quantile sketch to merge and chart. */

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The value at quantile `q` (0..1) of an ascending array (nearest rank). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Sorts a copy of `values` ascending. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/** p50/p90/p95/p99/max/mean of `values` (milliseconds, rounded to 0.01). */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = sortedCopy(values);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: round(quantile(sorted, 0.5)),
    p90: round(quantile(sorted, 0.9)),
    p95: round(quantile(sorted, 0.95)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN),
    mean: round(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

/** 1,001 quantiles (0, 0.001, ..., 1) of `values`: enough to draw a CDF. */
export function sketch(values: ArrayLike<number>): number[] {
  const sorted = sortedCopy(values);
  if (sorted.length === 0) return [];
  return Array.from({ length: 1001 }, (_, i) => round(quantile(sorted, i / 1000)));
}
