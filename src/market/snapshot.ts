/**
 * Snapshot is the current state of one symbol, as the domain sees it.
 *
 * Snapshots are immutable: every update makes a new object, so one snapshot
 * can be handed to many streams (and encoded once for all of them) safely.
 * Quantities are plain numbers, exact up to 2^53.
 */
export interface Snapshot {
  readonly symbolId: number;
  readonly symbol: string;
  readonly ltp: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  /** Previous session's close, the reference for change. */
  readonly close: number;
  readonly volume: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize: number;
  readonly askSize: number;
  /** Increases by one with every update of the symbol, starting at 1. */
  readonly sequence: number;
  /** Milliseconds since the Unix epoch. */
  readonly exchangeTimeMs: number;
}

/**
 * Tick is one update from a producer.
 */
export interface Tick {
  readonly symbolId: number;
  readonly ltp: number;
  readonly volume?: number;
  readonly bid?: number;
  readonly ask?: number;
  readonly bidSize?: number;
  readonly askSize?: number;
  /** Milliseconds since the Unix epoch; the receiver's clock when missing. */
  readonly exchangeTimeMs?: number;
  /** Display name, used when the symbol is new. */
  readonly symbol?: string;
}

/**
 * foldTick returns the snapshot that results from applying a tick to the
 * previous snapshot of its symbol, or creates the first one.
 */
export function foldTick(previous: Snapshot | undefined, tick: Tick, nowMs: number): Snapshot {
  const ltp = tick.ltp;
  if (previous === undefined) {
    return {
      symbolId: tick.symbolId,
      symbol: tick.symbol ?? "",
      ltp,
      open: ltp,
      high: ltp,
      low: ltp,
      // A new symbol has no previous session: its first price is the reference.
      close: ltp,
      volume: tick.volume ?? 0,
      bid: tick.bid ?? ltp,
      ask: tick.ask ?? ltp,
      bidSize: tick.bidSize ?? 0,
      askSize: tick.askSize ?? 0,
      sequence: 1,
      exchangeTimeMs: tick.exchangeTimeMs ?? nowMs,
    };
  }
  return {
    symbolId: previous.symbolId,
    symbol: previous.symbol !== "" ? previous.symbol : (tick.symbol ?? ""),
    ltp,
    open: previous.open,
    high: ltp > previous.high ? ltp : previous.high,
    low: ltp < previous.low ? ltp : previous.low,
    close: previous.close,
    volume: previous.volume + (tick.volume ?? 0),
    bid: tick.bid ?? previous.bid,
    ask: tick.ask ?? previous.ask,
    bidSize: tick.bidSize ?? previous.bidSize,
    askSize: tick.askSize ?? previous.askSize,
    sequence: previous.sequence + 1,
    exchangeTimeMs: tick.exchangeTimeMs ?? nowMs,
  };
}
