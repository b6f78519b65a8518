import { InvalidTickError, SymbolRightsError } from "./errors.js";
import { MAX_DEPTH_LEVELS, tickQuote, type DepthLevel, type Snapshot, type Tick } from "./snapshot.js";

const MAX_SYMBOL_ID = 0xffffffff;
// Order counts travel as uint32 on the wire.
const MAX_ORDERS = 0xffffffff;

/**
 * TickPolicy says which ticks are plausible enough to become a symbol's
 * snapshot; a tick outside it is refused with the field that broke it.
 */
export interface TickPolicy {
  /**
   * Widest move of a price (ltp, bid, ask, a book level) from the symbol's
   * previous close, in percent, as an exchange's circuit limits; 0 turns the
   * check off. Default 20.
   */
  priceBandPercent?: number;
  /**
   * Farthest an exchange_time may lie from the gateway's clock, either way,
   * in milliseconds; 0 turns this check off, and the one that a symbol's
   * exchange_time does not go back. Default 86,400,000 (one day).
   */
  timeWindowMs?: number;
}

/** DEFAULT_TICK_POLICY is the policy a market uses unless told otherwise. */
export const DEFAULT_TICK_POLICY: Readonly<Required<TickPolicy>> = Object.freeze({
  priceBandPercent: 20,
  timeWindowMs: 86_400_000,
});

/**
 * SymbolRights says what a producer may do to the list of symbols, beyond
 * sending ticks for those that exist.
 */
export interface SymbolRights {
  /** May create a symbol and rename one. */
  readonly manageSymbols: boolean;
}

/**
 * validateTick throws InvalidTickError when a tick cannot be folded into a
 * snapshot, naming the field and the tick's position in its batch. These are
 * the checks that need nothing but the tick and the clock; admitTick does
 * those that need the symbol's current snapshot.
 */
export function validateTick(tick: Tick, index: number, policy: TickPolicy = DEFAULT_TICK_POLICY, nowMs = Date.now()): void {
  if (!Number.isInteger(tick.symbolId) || tick.symbolId <= 0 || tick.symbolId > MAX_SYMBOL_ID) {
    throw new InvalidTickError(`ticks[${index}].symbol_id must be a positive integer, got ${tick.symbolId}`);
  }
  if (!(Number.isFinite(tick.ltp) && tick.ltp > 0)) {
    throw new InvalidTickError(`ticks[${index}].ltp must be a positive finite price, got ${tick.ltp}`);
  }
  for (const field of ["bid", "ask"] as const) {
    const value = tick[field];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new InvalidTickError(`ticks[${index}].${field} must be a non-negative finite price, got ${value}`);
    }
  }
  for (const field of ["volume", "bidSize", "askSize"] as const) {
    const value = tick[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new InvalidTickError(`ticks[${index}].${field} must be a non-negative integer below 2^53, got ${value}`);
    }
  }
  if (tick.depth !== undefined) {
    validateSide(tick.depth.bids, `ticks[${index}].depth.bids`);
    validateSide(tick.depth.asks, `ticks[${index}].depth.asks`);
    const bestBid = tick.depth.bids[0]?.price ?? 0;
    const bestAsk = tick.depth.asks[0]?.price ?? 0;
    if (bestBid > 0 && bestAsk > 0 && bestBid > bestAsk) {
      throw new InvalidTickError(`ticks[${index}].depth is crossed: best bid ${bestBid} is above best ask ${bestAsk}`);
    }
  }
  // Zero means no quote on that side, as in a book with no bids.
  const { bid, ask } = tickQuote(tick);
  if (bid !== undefined && ask !== undefined && bid > 0 && ask > 0 && bid > ask) {
    throw new InvalidTickError(`ticks[${index}].bid ${bid} is above ticks[${index}].ask ${ask}: a crossed quote`);
  }
  if (tick.exchangeTimeMs !== undefined) {
    const time = tick.exchangeTimeMs;
    if (!Number.isFinite(time)) throw new InvalidTickError(`ticks[${index}].exchange_time must be a time, got ${time}`);
    const window = policy.timeWindowMs ?? DEFAULT_TICK_POLICY.timeWindowMs;
    if (window > 0 && Math.abs(time - nowMs) > window) {
      throw new InvalidTickError(
        `ticks[${index}].exchange_time ${isoTime(time)} is more than ${window} ms from the gateway's clock (${isoTime(nowMs)})`,
      );
    }
  }
}

/**
 * admitTick throws when a valid tick may not be folded into its symbol's
 * current snapshot (`previous`, undefined for a new symbol): a price outside
 * the band around the previous close, an exchange_time before the
 * snapshot's, a new symbol without a name, or a creation or rename the
 * producer has no right to (SymbolRightsError). Stores call it with the
 * snapshot the tick will fold into, earlier ticks of the batch included.
 */
export function admitTick(
  previous: Snapshot | undefined,
  tick: Tick,
  index: number,
  rights: SymbolRights,
  policy: TickPolicy = DEFAULT_TICK_POLICY,
): void {
  if (previous === undefined) {
    if (tick.symbol === undefined || tick.symbol.trim() === "") {
      throw new InvalidTickError(`ticks[${index}].symbol must name the new symbol ${tick.symbolId}`);
    }
    if (!rights.manageSymbols) {
      throw new SymbolRightsError(`ticks[${index}] would create symbol ${tick.symbolId}, which is not known`);
    }
    return;
  }
  if (tick.symbol !== undefined && tick.symbol !== "" && tick.symbol !== previous.symbol) {
    if (tick.symbol.trim() === "") throw new InvalidTickError(`ticks[${index}].symbol must not be blank`);
    if (!rights.manageSymbols) {
      throw new SymbolRightsError(`ticks[${index}] would rename symbol ${tick.symbolId} from "${previous.symbol}"`);
    }
  }
  const window = policy.timeWindowMs ?? DEFAULT_TICK_POLICY.timeWindowMs;
  if (window > 0 && tick.exchangeTimeMs !== undefined && tick.exchangeTimeMs < previous.exchangeTimeMs) {
    throw new InvalidTickError(
      `ticks[${index}].exchange_time ${isoTime(tick.exchangeTimeMs)} goes back from the symbol's ${isoTime(previous.exchangeTimeMs)}`,
    );
  }
  const band = policy.priceBandPercent ?? DEFAULT_TICK_POLICY.priceBandPercent;
  if (band <= 0) return;
  const low = previous.close * (1 - band / 100);
  const high = previous.close * (1 + band / 100);
  const check = (field: string, price: number | undefined) => {
    // Zero is an empty side or level, not a price.
    if (price === undefined || price === 0 || (price >= low && price <= high)) return;
    throw new InvalidTickError(
      `ticks[${index}].${field} ${price} is outside the ${band}% band around the previous close ${previous.close} (${round(low)} to ${round(high)})`,
    );
  };
  check("ltp", tick.ltp);
  check("bid", tick.bid);
  check("ask", tick.ask);
  tick.depth?.bids.forEach((level, i) => check(`depth.bids[${i}].price`, level.price));
  tick.depth?.asks.forEach((level, i) => check(`depth.asks[${i}].price`, level.price));
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

function round(price: number): number {
  return Math.round(price * 1e6) / 1e6;
}

function validateSide(levels: readonly DepthLevel[], path: string): void {
  if (levels.length > MAX_DEPTH_LEVELS) {
    throw new InvalidTickError(`${path} holds ${levels.length} levels, at most ${MAX_DEPTH_LEVELS} are allowed`);
  }
  levels.forEach((level, i) => {
    if (!(Number.isFinite(level.price) && level.price >= 0)) {
      throw new InvalidTickError(`${path}[${i}].price must be a non-negative finite price, got ${level.price}`);
    }
    if (!(Number.isSafeInteger(level.quantity) && level.quantity >= 0)) {
      throw new InvalidTickError(`${path}[${i}].quantity must be a non-negative integer below 2^53, got ${level.quantity}`);
    }
    if (!(Number.isInteger(level.orders) && level.orders >= 0 && level.orders <= MAX_ORDERS)) {
      throw new InvalidTickError(`${path}[${i}].orders must be a non-negative integer below 2^32, got ${level.orders}`);
    }
  });
}
