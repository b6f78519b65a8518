import * as hdr from "hdr-histogram-js";
import { round, type LatencySummary } from "./stats.js";

/** Histogram is an HDR histogram of latencies in microseconds. */
export type Histogram = hdr.Histogram;

/**
 * createLatencyHistogram makes a histogram of latencies in microseconds,
 * three significant digits, from 1 µs up: a client records every message
 * in it at a fixed cost and sends the runner a few kilobytes.
 */
export function createLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

/** encodeHistogram packs a histogram for the IPC channel. */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** mergeHistograms adds the histograms several processes sent. */
export function mergeHistograms(encoded: readonly string[]): Histogram {
  const total = createLatencyHistogram();
  for (const text of encoded) total.add(hdr.decodeFromCompressedBase64(text));
  return total;
}

/**
 * summarizeHistogram gives a histogram's percentiles in milliseconds, the
 * unit of every other latency in the results; NaN figures when it is empty.
 */
export function summarizeHistogram(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  const ms = (micros: number) => (count === 0 ? Number.NaN : round(micros / 1000));
  return {
    count,
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    meanMs: ms(histogram.mean),
    maxMs: ms(histogram.maxValue),
  };
}
