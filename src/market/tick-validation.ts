import { InvalidTickError } from "./errors.js";
import { MAX_DEPTH_LEVELS, type DepthLevel, type Tick } from "./snapshot.js";

const MAX_SYMBOL_ID = 0xffffffff;
// Order counts travel as uint32 on the wire.
const MAX_ORDERS = 0xffffffff;

/**
 * validateTick throws InvalidTickError when a tick cannot be folded into a
 * snapshot, naming the field and the tick's position in its batch.
 */
export function validateTick(tick: Tick, index: number): void {
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
  }
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
