import type { Snapshot } from "./gen/stockify/v1/snapshot_pb.js";

/**
 * SequenceGap reports updates of one symbol that a stream never delivered:
 * the sequence jumped from `lastSequence` to `sequence`.
 */
export interface SequenceGap {
  readonly symbolId: number;
  readonly lastSequence: bigint;
  readonly sequence: bigint;
  /** How many updates were skipped: `sequence - lastSequence - 1`. */
  readonly missed: bigint;
}

/**
 * SequenceVerdict says what to do with an update: deliver it, or drop it
 * because the caller already has it.
 */
export type SequenceVerdict = "deliver" | "duplicate";

/**
 * SequenceTracker remembers the last sequence seen per symbol across
 * reconnects, so that a resumed stream neither repeats an update the caller
 * already has nor hides the updates it missed while disconnected.
 *
 * An update is a duplicate only when it is the very snapshot the caller
 * has (same sequence, price and exchange time). A lower sequence, or the same
 * one with other contents, means the gateway's history started over (a
 * restart with an in-memory store): the update is delivered and becomes the
 * new reference.
 */
export class SequenceTracker {
  readonly #last = new Map<number, Pick<Snapshot, "sequence" | "ltp" | "exchangeTime">>();
  readonly #onGap: ((gap: SequenceGap) => void) | undefined;
  #missed = 0n;

  constructor(onGap?: (gap: SequenceGap) => void) {
    this.#onGap = onGap;
  }

  /** Total updates missed so far, over all symbols. */
  get missed(): bigint {
    return this.#missed;
  }

  /** Judges one update and records its sequence. */
  observe(snapshot: Pick<Snapshot, "symbolId" | "sequence" | "ltp" | "exchangeTime">): SequenceVerdict {
    const { symbolId, sequence } = snapshot;
    const last = this.#last.get(symbolId);
    if (last !== undefined && sameState(last, snapshot)) return "duplicate";
    this.#last.set(symbolId, snapshot);
    if (last !== undefined && sequence > last.sequence + 1n) {
      const missed = sequence - last.sequence - 1n;
      this.#missed += missed;
      this.#onGap?.({ symbolId, lastSequence: last.sequence, sequence, missed });
    }
    return "deliver";
  }

  /** Forgets a symbol, so that a later subscription to it starts afresh. */
  forget(symbolId: number): void {
    this.#last.delete(symbolId);
  }
}

function sameState(a: Pick<Snapshot, "sequence" | "ltp" | "exchangeTime">, b: Pick<Snapshot, "sequence" | "ltp" | "exchangeTime">): boolean {
  return (
    a.sequence === b.sequence &&
    a.ltp === b.ltp &&
    a.exchangeTime?.seconds === b.exchangeTime?.seconds &&
    a.exchangeTime?.nanos === b.exchangeTime?.nanos
  );
}
