import type { Snapshot } from "./snapshot.js";

/**
 * HubSubscriber is anything that takes delivery of snapshot updates.
 */
export interface HubSubscriber {
  deliver(snapshot: Snapshot): void;
}

/**
 * Hub fans snapshot updates out to the subscribers interested in each symbol.
 *
 * Delivery is synchronous and allocation-free: the hub hands the same
 * immutable snapshot to every subscriber of its symbol.
 */
export class Hub {
  readonly #bySymbol = new Map<number, Set<HubSubscriber>>();
  #subscriptionCount = 0;

  /** Registers interest of a subscriber in one symbol; returns false if it already had it. */
  add(symbolId: number, subscriber: HubSubscriber): boolean {
    let set = this.#bySymbol.get(symbolId);
    if (set === undefined) {
      set = new Set();
      this.#bySymbol.set(symbolId, set);
    }
    if (set.has(subscriber)) return false;
    set.add(subscriber);
    this.#subscriptionCount++;
    return true;
  }

  /** Withdraws interest of a subscriber in one symbol; returns false if it had none. */
  remove(symbolId: number, subscriber: HubSubscriber): boolean {
    const set = this.#bySymbol.get(symbolId);
    if (set === undefined || !set.delete(subscriber)) return false;
    if (set.size === 0) this.#bySymbol.delete(symbolId);
    this.#subscriptionCount--;
    return true;
  }

  /** Delivers an update to every subscriber of its symbol. */
  publish(snapshot: Snapshot): void {
    const set = this.#bySymbol.get(snapshot.symbolId);
    if (set === undefined) return;
    for (const subscriber of set) subscriber.deliver(snapshot);
  }

  /** Symbols that have at least one subscriber. */
  symbolIds(): IterableIterator<number> {
    return this.#bySymbol.keys();
  }

  /** Number of subscribers of one symbol. */
  subscriberCount(symbolId: number): number {
    return this.#bySymbol.get(symbolId)?.size ?? 0;
  }

  /** Number of (subscriber, symbol) pairs registered: zero once every stream has let go. */
  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }
}
