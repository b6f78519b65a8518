/**
 * LatencySummary describes a set of latency samples, in milliseconds.
 */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * summarize computes percentiles (nearest rank) of latencies given in
 * milliseconds; an empty set gives zero counts and NaN figures.
 */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const at = (p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50Ms: round(at(50)),
    p90Ms: round(at(90)),
    p99Ms: round(at(99)),
    meanMs: round(sorted.length === 0 ? Number.NaN : sum / sorted.length),
    maxMs: round(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!),
  };
}

/** round keeps three decimals: microseconds, for figures in milliseconds. */
export function round(value: number, decimals = 3): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** ratio divides two rates, rounded, NaN when the divisor is missing or zero. */
export function ratio(a: number | undefined, b: number | undefined): number {
  return a === undefined || b === undefined || b === 0 ? Number.NaN : round(a / b, 2);
}
