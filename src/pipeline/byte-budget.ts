import { Code, ConnectError } from "@connectrpc/connect";

/**
 * ByteBudget bounds the request bytes the gateway holds at once, across
 * every connection: bodies being received, and messages being inflated and
 * decoded. One caller's large body can then delay others' only so much, and
 * many large bodies at once are refused with RESOURCE_EXHAUSTED instead of
 * growing memory and blocking the event loop for everyone.
 */
export class ByteBudget {
  private held = 0;

  /** A budget of `maxBytes`; Infinity for none. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get inUse(): number {
    return this.held;
  }

  /**
   * take holds `bytes` more, or throws RESOURCE_EXHAUSTED when that would
   * go over the budget (a single request larger than the whole budget is
   * refused only while anything else is held, so it cannot starve).
   */
  take(bytes: number): void {
    if (this.held > 0 && this.held + bytes > this.maxBytes) {
      throw new ConnectError(
        `request bytes in flight would exceed the gateway's budget of ${this.maxBytes}; retry later`,
        Code.ResourceExhausted,
      );
    }
    this.held += bytes;
  }

  /** give returns bytes taken before. */
  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}
