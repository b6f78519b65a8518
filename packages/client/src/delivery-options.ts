import { SnapshotMode } from "./gen/stockify/v1/snapshot_pb.js";

/**
 * FieldMode names how much of each snapshot a stream sends: "ltp" (symbol
 * id, last price, sequence and exchange time: the smallest message),
 * "quote" (every field but the book) or "full" (the quote and five levels
 * of market depth a side).
 */
export type FieldMode = "ltp" | "quote" | "full";

/**
 * DeliveryOptions say which fields of each snapshot a stream sends and how
 * often.
 */
export interface DeliveryOptions {
  /** Fields of each snapshot. Default "quote". */
  mode?: FieldMode;
  /**
   * Most updates per symbol per second; the gateway sends the latest, and
   * sequence numbers jump over the updates skipped (they reach `onGap`).
   * 0 sends every update. Default 0.
   */
  maxUpdatesPerSecond?: number;
}

/**
 * Delivery is DeliveryOptions as a subscribe request carries them.
 */
export interface Delivery {
  readonly mode: SnapshotMode;
  readonly maxUpdatesPerSecond: number;
}

const MODES: Readonly<Record<FieldMode, SnapshotMode>> = {
  ltp: SnapshotMode.LTP,
  quote: SnapshotMode.QUOTE,
  full: SnapshotMode.FULL,
};

/**
 * resolveDelivery fills in the defaults of DeliveryOptions and rejects
 * values the request cannot carry.
 */
export function resolveDelivery(options: DeliveryOptions = {}): Delivery {
  const mode = options.mode ?? "quote";
  if (!Object.hasOwn(MODES, mode)) throw new TypeError(`mode must be "ltp", "quote" or "full", got ${JSON.stringify(mode)}`);
  const rate = options.maxUpdatesPerSecond ?? 0;
  // The request field is a uint32.
  if (!Number.isInteger(rate) || rate < 0 || rate > 0xffffffff) {
    throw new TypeError(`maxUpdatesPerSecond must be a whole number of 0 or more, got ${rate}`);
  }
  return { mode: MODES[mode], maxUpdatesPerSecond: rate };
}
