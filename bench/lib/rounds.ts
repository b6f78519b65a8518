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
 * RoundRun is one target's run in one round, with the reference's runs
 * just before and just after it (absent when the reference is not run).
 */
export interface RoundRun<R> {
  run: R;
  before?: R;
  after?: R;
}

/**
 * Interleaved is what interleavedRounds measured: each target's runs,
 * round by round, and every run of the reference, in order.
 */
export interface Interleaved<R> {
  runs: RoundRun<R>[][];
  referenceRuns: R[];
}

/**
 * interleavedRounds measures every target once per round, with the
 * reference measured before the first target, between each two, and
 * after the last (R T1 R T2 R ... Tn R), the targets' order rotated from
 * one round to the next. On a shared machine the speed of the whole
 * machine drifts, by a third within a minute at times: a target is
 * compared with the reference runs on either side of it, seconds apart,
 * not with one run of the reference minutes away. Returns each target's
 * runs, round by round, in the targets' order.
 */
export async function interleavedRounds<T, R>(
  reference: T | undefined,
  targets: readonly T[],
  rounds: number,
  measure: (target: T, round: number) => Promise<R>,
): Promise<Interleaved<R>> {
  const runs: RoundRun<R>[][] = targets.map(() => []);
  const referenceRuns: R[] = [];
  const measureReference = async (round: number) => {
    if (reference === undefined) return undefined;
    const run = await measure(reference, round);
    referenceRuns.push(run);
    return run;
  };
  for (let round = 0; round < rounds; round++) {
    let before = await measureReference(round);
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const run = await measure(targets[i]!, round);
      const after = await measureReference(round);
      runs[i]!.push({ run, before, after });
      before = after;
    }
  }
  return { runs, referenceRuns };
}

/**
 * relativeScores gives a target's figure in each round over the mean of
 * the reference's figures on either side of it (the figure itself when
 * the reference was not run).
 */
export function relativeScores<R>(runs: readonly RoundRun<R>[], figure: (run: R) => number): number[] {
  return runs.map(({ run, before, after }) =>
    before === undefined || after === undefined ? figure(run) : figure(run) / ((figure(before) + figure(after)) / 2),
  );
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
