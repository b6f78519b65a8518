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
  /** The order book's best levels; NO_DEPTH until a tick carries one. */
  readonly depth: MarketDepth;
}

/**
 * DepthLevel is one price level of the order book.
 */
export interface DepthLevel {
  readonly price: number;
  /** Total quantity resting at the price. */
  readonly quantity: number;
  /** Number of orders resting at the price. */
  readonly orders: number;
}

/**
 * MarketDepth is the order book's best levels on each side, best first:
 * bids highest price first, asks lowest price first.
 */
export interface MarketDepth {
  readonly bids: readonly DepthLevel[];
  readonly asks: readonly DepthLevel[];
}

/** MAX_DEPTH_LEVELS is how many levels a side of the book may hold. */
export const MAX_DEPTH_LEVELS = 5;

/**
 * NO_DEPTH is the book of a symbol no tick has given one yet, shared by all
 * such snapshots so that they cost no memory.
 */
export const NO_DEPTH: MarketDepth = Object.freeze({ bids: Object.freeze([]), asks: Object.freeze([]) });

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
  /**
   * Display name: names a new symbol, and renames one when it differs (a
   * market checks who may do either before a tick reaches a store).
   */
  readonly symbol?: string;
  /**
   * Replaces the symbol's book when present; bid, ask and their sizes default
   * to its first levels.
   */
  readonly depth?: MarketDepth;
}

/**
 * foldTick returns the snapshot that results from applying a tick to the
 * previous snapshot of its symbol, or creates the first one.
 */
export function foldTick(previous: Snapshot | undefined, tick: Tick, nowMs: number): Snapshot {
  const ltp = tick.ltp;
  const depth = tick.depth;
  const { bid, ask, bidSize, askSize } = tickQuote(tick);
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
      bid: bid ?? ltp,
      ask: ask ?? ltp,
      bidSize: bidSize ?? 0,
      askSize: askSize ?? 0,
      sequence: 1,
      exchangeTimeMs: tick.exchangeTimeMs ?? nowMs,
      depth: depth ?? NO_DEPTH,
    };
  }
  return {
    symbolId: previous.symbolId,
    symbol: tick.symbol !== undefined && tick.symbol !== "" ? tick.symbol : previous.symbol,
    ltp,
    open: previous.open,
    high: Math.max(ltp, previous.high),
    low: Math.min(ltp, previous.low),
    close: previous.close,
    volume: previous.volume + (tick.volume ?? 0),
    bid: bid ?? previous.bid,
    ask: ask ?? previous.ask,
    bidSize: bidSize ?? previous.bidSize,
    askSize: askSize ?? previous.askSize,
    sequence: previous.sequence + 1,
    exchangeTimeMs: tick.exchangeTimeMs ?? nowMs,
    depth: depth ?? previous.depth,
  };
}

/**
 * TickQuote is the best bid and ask a tick sets, each undefined where the
 * tick leaves the snapshot's value as it was.
 */
export interface TickQuote {
  readonly bid: number | undefined;
  readonly ask: number | undefined;
  readonly bidSize: number | undefined;
  readonly askSize: number | undefined;
}

/**
 * tickQuote returns the best bid and ask a tick sets: its own fields, or else
 * the first levels of the book it carries, so that a producer sending the
 * whole book need not repeat its top.
 */
export function tickQuote(tick: Tick): TickQuote {
  const bestBid = tick.depth?.bids[0];
  const bestAsk = tick.depth?.asks[0];
  return {
    bid: tick.bid ?? bestBid?.price,
    ask: tick.ask ?? bestAsk?.price,
    bidSize: tick.bidSize ?? bestBid?.quantity,
    askSize: tick.askSize ?? bestAsk?.quantity,
  };
}
