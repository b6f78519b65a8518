/**
 * RoundRatio is a ratio of two targets measured round by round: its
 * median over the rounds, and the lowest and highest round.
 */
export interface RoundRatio {
  median: number;
  min: number;
  max: number;
}

/**
 * inRounds measures every target once per round, the targets one after
 * another within a round and the order rotated from one round to the
 * next. On a shared machine the load of the neighbours drifts over
 * minutes: two targets measured back to back, again and again, see the
 * same drift, where one long run of each would not. Returns each
 * target's results, round by round, in the targets' order.
 */
export async function inRounds<T, R>(targets: readonly T[], rounds: number, measure: (target: T, round: number) => Promise<R>): Promise<R[][]> {
  const results: R[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      results[i]!.push(await measure(targets[i]!, round));
    }
  }
  return results;
}

/** median of a non-empty list (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * roundRatio divides two targets' figures round by round (each round's
 * over the same round's) and summarizes the quotients; NaN figures when
 * either target is missing.
 */
export function roundRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): RoundRatio {
  if (a === undefined || b === undefined || a.length === 0 || a.length !== b.length) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const quotients = a.map((value, i) => value / b[i]!).filter(Number.isFinite);
  if (quotients.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return { median: round2(median(quotients)), min: round2(Math.min(...quotients)), max: round2(Math.max(...quotients)) };
}

/** medianIndex is the index of the round whose figure is the median (the lower middle for an even count). */
export function medianIndex(values: readonly number[]): number {
  const order = values.map((value, i) => [value, i] as const).sort((x, y) => x[0] - y[0]);
  return order[(order.length - 1) >> 1]![1];
}

/** splitRatios gives the medians as `ratios` and the lowest and highest rounds as `spread`, as the results record them. */
export function splitRatios(all: Record<string, RoundRatio>): { ratios: Record<string, number>; spread: Record<string, [min: number, max: number]> } {
  const ratios: Record<string, number> = {};
  const spread: Record<string, [number, number]> = {};
  for (const [name, { median: mid, min, max }] of Object.entries(all)) {
    ratios[name] = mid;
    spread[name] = [min, max];
  }
  return { ratios, spread };
}
