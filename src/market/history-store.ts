import type { CandleInterval } from "./candle-interval.js";

/**
 * TickRecord is one accepted tick as history keeps it: what the tick did to
 * its symbol, identified by the symbol's sequence number, so that writing
 * the same record twice (a retry, a second replica) keeps one row.
 */
export interface TickRecord {
  readonly symbolId: number;
  /** The symbol's sequence number after the tick. */
  readonly sequence: number;
  /** Exchange time, milliseconds since the Unix epoch. */
  readonly timeMs: number;
  /** Last traded price after the tick. */
  readonly price: number;
  /** Quantity the tick traded (the tick's volume; 0 for a quote update). */
  readonly quantity: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize: number;
  readonly askSize: number;
}

/**
 * Candle is one OHLCV bar: the ticks of a symbol whose exchange time falls
 * in [startMs, startMs + interval).
 */
export interface Candle {
  readonly symbolId: number;
  readonly interval: CandleInterval;
  /** Start of the bucket, milliseconds since the Unix epoch (UTC-aligned). */
  readonly startMs: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  /** Sum of the ticks' quantities. */
  readonly volume: number;
  /** Number of ticks in the bar. */
  readonly tickCount: number;
  /**
   * Sequence number of the bar's last tick, so that a live stream that
   * starts from a stored bar folds in only the ticks the store had not yet.
   */
  readonly lastSequence: number;
}

/**
 * CandleQuery asks for the bars of one symbol whose start lies in
 * [startMs, endMs), oldest first, a page at a time.
 */
export interface CandleQuery {
  readonly symbolId: number;
  readonly interval: CandleInterval;
  readonly startMs: number;
  readonly endMs: number;
  /** Most bars to return (the caller has clamped it). */
  readonly limit: number;
  /** Return only bars that start after this one (the page cursor); undefined from the start. */
  readonly afterStartMs?: number;
}

/**
 * TickQuery asks for the ticks of one symbol whose exchange time lies in
 * [startMs, endMs), in sequence order, a page at a time.
 */
export interface TickQuery {
  readonly symbolId: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Most ticks to return (the caller has clamped it). */
  readonly limit: number;
  /** Return only ticks after this sequence number (the page cursor); undefined from the start. */
  readonly afterSequence?: number;
}

/**
 * HistoryStore keeps every accepted tick and answers candle and tick
 * queries from them.
 *
 * `append` is called by the history writer with batches already gathered;
 * it must be idempotent per (symbolId, sequence), so that a retried batch
 * and a batch written by two replicas each keep one row and count once in
 * the candles.
 */
export interface HistoryStore {
  /** Writes a batch durably (committed when the promise resolves). */
  append(records: readonly TickRecord[]): Promise<void>;
  /** Bars of one symbol, oldest first; a bar with no ticks is not returned. */
  candles(query: CandleQuery): Promise<Candle[]>;
  /** Ticks of one symbol, in sequence order. */
  ticks(query: TickQuery): Promise<TickRecord[]>;
  /** True while the store can serve queries and take writes. */
  readonly healthy: boolean;
  /** Registers a listener for changes of `healthy`; returns the function that removes it. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
