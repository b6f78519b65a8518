import type { CallOptions } from "@connectrpc/connect";
import type { StreamOptions } from "./reconnecting-stream.js";

/**
 * CANDLE_INTERVALS are the bar widths the gateway keeps, narrowest first.
 */
export const CANDLE_INTERVALS = ["1s", "1m", "5m", "15m", "1h", "1d"] as const;

/**
 * CandleInterval is the width of a bar: one second to one day.
 */
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

/**
 * CandleQueryOptions choose the bars getCandles reads.
 */
export interface CandleQueryOptions extends CallOptions {
  /** Width of each bar. */
  interval: CandleInterval;
  /** Inclusive start of the range, as a Date or ms since the epoch. Default: the start of today (00:00 UTC). */
  start?: Date | number;
  /** Exclusive end of the range, as a Date or ms since the epoch. Default: now. */
  end?: Date | number;
  /** Bars asked for per call; the gateway caps it at 5000. Default: the gateway's, 500. */
  pageSize?: number;
}

/**
 * TickQueryOptions choose the ticks getTicks reads.
 */
export interface TickQueryOptions extends CallOptions {
  /** Inclusive start of the range, as a Date or ms since the epoch. Default: one hour before now. */
  start?: Date | number;
  /** Exclusive end of the range, as a Date or ms since the epoch. Default: now. */
  end?: Date | number;
  /** Ticks asked for per call; the gateway caps it at 10000. Default: the gateway's, 1000. */
  pageSize?: number;
}

/**
 * CandleStreamOptions configure a streamCandles stream: how far back it
 * starts, and how it reconnects.
 */
export interface CandleStreamOptions extends Omit<StreamOptions, "onGap"> {
  /** Intervals back the stream starts, the one in progress included; 0 for live updates only. Default: the gateway's, 100. */
  recentCount?: number;
}
