/**
 * CandleInterval is the width of a candle, by its usual name.
 */
export type CandleInterval = "1s" | "1m" | "5m" | "15m" | "1h" | "1d";

/** CANDLE_INTERVALS lists every interval, narrowest first. */
export const CANDLE_INTERVALS: readonly CandleInterval[] = Object.freeze(["1s", "1m", "5m", "15m", "1h", "1d"]);

const WIDTH_MS: Readonly<Record<CandleInterval, number>> = Object.freeze({
  "1s": 1_000,
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "1d": 86_400_000,
});

/** intervalMs returns the width of an interval in milliseconds. */
export function intervalMs(interval: CandleInterval): number {
  return WIDTH_MS[interval];
}

/**
 * bucketStart returns the start of the bar that holds a time: buckets are
 * aligned on the Unix epoch, so days start at 00:00 UTC.
 */
export function bucketStart(timeMs: number, interval: CandleInterval): number {
  const width = WIDTH_MS[interval];
  return Math.floor(timeMs / width) * width;
}

/** isCandleInterval tells whether a string names an interval. */
export function isCandleInterval(value: string): value is CandleInterval {
  return Object.hasOwn(WIDTH_MS, value);
}
