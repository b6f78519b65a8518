import { InvalidTickError } from "./errors.js";
import type { Tick } from "./snapshot.js";

const MAX_SYMBOL_ID = 0xffffffff;

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
}
