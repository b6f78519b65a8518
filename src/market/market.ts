import { Hub } from "./hub.js";
import type { Snapshot, Tick } from "./snapshot.js";
import type { SnapshotStore } from "./snapshot-store.js";
import { Subscription, type SubscriptionOptions } from "./subscription.js";
import { validateTick } from "./tick-validation.js";

/**
 * Market ties a snapshot store to the hub that fans its updates out: the one
 * object the services talk to.
 */
export class Market {
  readonly hub = new Hub();
  readonly #store: SnapshotStore;
  readonly #subscriptionDefaults: SubscriptionOptions;
  readonly #stopListening: () => void;

  constructor(store: SnapshotStore, subscriptionDefaults: SubscriptionOptions = {}) {
    this.#store = store;
    this.#subscriptionDefaults = subscriptionDefaults;
    this.#stopListening = store.onUpdate((snapshot) => this.hub.publish(snapshot));
  }

  /** The store behind this market. */
  get store(): SnapshotStore {
    return this.#store;
  }

  /** Returns the snapshot of one symbol, or undefined. */
  get(symbolId: number): Promise<Snapshot | undefined> {
    return this.#store.get(symbolId);
  }

  /** Returns the snapshots of many symbols, in the order asked. */
  getMany(symbolIds: readonly number[]): Promise<Array<Snapshot | undefined>> {
    return this.#store.getMany(symbolIds);
  }

  /** Returns every snapshot, ordered by symbol id. */
  list(): Promise<Snapshot[]> {
    return this.#store.list();
  }

  /** Validates and applies ticks; subscribers receive the updates through the store's announcements. */
  async ingest(ticks: readonly Tick[]): Promise<Snapshot[]> {
    for (let i = 0; i < ticks.length; i++) validateTick(ticks[i]!, i);
    return this.#store.apply(ticks);
  }

  /** Opens a subscription with the market's defaults, overridable per stream. */
  subscribe(options: SubscriptionOptions = {}): Subscription {
    return new Subscription(this.hub, { ...this.#subscriptionDefaults, ...options });
  }

  /** Stops fanning out and closes the store. */
  async close(): Promise<void> {
    this.#stopListening();
    await this.#store.close();
  }
}
