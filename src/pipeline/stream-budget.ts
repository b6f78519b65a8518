/**
 * BudgetedStream is a stream the budget may end: the one holding the most
 * bytes when the process holds too many.
 */
export interface BudgetedStream {
  /** Ends the stream at once, releasing what it holds. */
  evict(): void;
}

/**
 * StreamBudget bounds, across the whole process, the bytes waiting in the
 * write buffers of streams whose clients do not read them.
 *
 * Each such stream holds at most its buffer's worth (its source conflates
 * instead of queueing), but a thousand stuck clients would still add up:
 * past the budget, the stream holding the most is ended, so that stuck
 * clients never cost the healthy ones their memory.
 */
export class StreamBudget {
  readonly #limit: number;
  readonly #onEvict: (() => void) | undefined;
  readonly #held = new Map<BudgetedStream, number>();
  #total = 0;

  /** `limitBytes`: the most bytes held by blocked streams together; 0 means no limit. */
  constructor(limitBytes: number, onEvict?: () => void) {
    this.#limit = limitBytes;
    this.#onEvict = onEvict;
  }

  /** Bytes held now by streams that cannot be written. */
  get bytes(): number {
    return this.#total;
  }

  /** Notes that a stream cannot be written and holds `bytes`; past the budget, ends the largest holder. */
  hold(stream: BudgetedStream, bytes: number): void {
    this.#total += bytes - (this.#held.get(stream) ?? 0);
    this.#held.set(stream, bytes);
    while (this.#limit > 0 && this.#total > this.#limit && this.#held.size > 0) {
      let largest: BudgetedStream | undefined;
      let most = -1;
      for (const [held, size] of this.#held) {
        if (size > most) {
          most = size;
          largest = held;
        }
      }
      this.release(largest!);
      this.#onEvict?.();
      largest!.evict();
    }
  }

  /** Notes that a stream drained or ended. */
  release(stream: BudgetedStream): void {
    const bytes = this.#held.get(stream);
    if (bytes === undefined) return;
    this.#held.delete(stream);
    this.#total -= bytes;
  }
}
