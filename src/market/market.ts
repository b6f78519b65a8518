import { StoreUnavailableError } from "./errors.js";
import type { TickRecord } from "./history-store.js";
import { Hub, type HubOptions } from "./hub.js";
import type { Snapshot, Tick } from "./snapshot.js";
import type { SnapshotStore } from "./snapshot-store.js";
import { Subscription, type SubscriptionOptions } from "./subscription.js";
import { admitTick, type SymbolRights, type TickPolicy, validateTick } from "./tick-validation.js";

/** StoreLossPolicy says what open streams do while the store is unavailable. */
export type StoreLossPolicy = "keep" | "close";

/**
 * MarketOptions configure a market beyond its subscriptions' defaults.
 */
export interface MarketOptions extends HubOptions {
  /**
   * While the store is down, "keep" leaves streams open (heartbeats go on,
   * updates resume when it is back) and "close" ends them with
   * StoreUnavailableError. Default "keep".
   */
  streamsOnStoreLoss?: StoreLossPolicy;
  /**
   * Which ticks are plausible enough to ingest (the gateway passes its
   * configuration). Default: no price band and no time checks; a new
   * symbol still needs a name, and every tick must be valid.
   */
  tickPolicy?: TickPolicy;
  /**
   * Where applied ticks are recorded (the history writer); `ingest` awaits
   * it, so its policy decides whether producers wait for history. Default:
   * ticks are not recorded.
   */
  history?: MarketHistory;
}

/**
 * MarketHistory takes the records of the ticks a market applied.
 */
export interface MarketHistory {
  record(records: readonly TickRecord[]): Promise<void>;
}

// In-process producers (the simulator, tests seeding prices) are trusted.
const ALL_RIGHTS: SymbolRights = { manageSymbols: true };
const NO_PLAUSIBILITY_CHECKS: TickPolicy = { priceBandPercent: 0, timeWindowMs: 0 };

/**
 * Market ties a snapshot store to the hub that fans its updates out: the one
 * object the services talk to.
 */
export class Market {
  readonly hub: Hub;
  readonly #store: SnapshotStore;
  readonly #subscriptionDefaults: SubscriptionOptions;
  readonly #stopListening: () => void;
  readonly #stopWatchingHealth: () => void;
  readonly #open = new Set<Subscription>();
  readonly #tickPolicy: TickPolicy;
  readonly #history: MarketHistory | undefined;

  constructor(store: SnapshotStore, subscriptionDefaults: SubscriptionOptions = {}, options: MarketOptions = {}) {
    this.#store = store;
    this.hub = new Hub(options);
    this.#subscriptionDefaults = subscriptionDefaults;
    this.#tickPolicy = options.tickPolicy ?? NO_PLAUSIBILITY_CHECKS;
    this.#history = options.history;
    this.#stopListening = store.onUpdate((snapshot) => this.hub.publish(snapshot));
    const closeOnLoss = (options.streamsOnStoreLoss ?? "keep") === "close";
    this.#stopWatchingHealth = store.onHealthChange((healthy) => {
      if (healthy) void this.#resync();
      else if (closeOnLoss) {
        const error = new StoreUnavailableError("the snapshot store is unavailable");
        for (const subscription of [...this.#open]) subscription.close(error);
      }
    });
  }

  /** Subscriptions open now, one per stream. */
  get subscriptions(): ReadonlySet<Subscription> {
    return this.#open;
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

  /**
   * Validates and applies ticks under the market's tick policy, all of a
   * batch or (when one tick is refused, with its error) none of it;
   * subscribers receive the updates through the store's announcements.
   * `rights` say whether the producer may create and rename symbols.
   * With a history, the applied ticks are recorded before it resolves;
   * only the replica that applied a tick records it, so replicas sharing a
   * store write each tick once. When recording fails (a durable history
   * that did not commit in time) ingest fails with its error, though the
   * ticks were applied and published.
   */
  async ingest(ticks: readonly Tick[], rights: SymbolRights = ALL_RIGHTS): Promise<Snapshot[]> {
    const policy = this.#tickPolicy;
    const now = Date.now();
    for (let i = 0; i < ticks.length; i++) validateTick(ticks[i]!, i, policy, now);
    const snapshots = await this.#store.apply(ticks, (previous, tick, index) => admitTick(previous, tick, index, rights, policy));
    if (this.#history !== undefined) await this.#history.record(tickRecords(ticks, snapshots));
    return snapshots;
  }

  /** Opens a subscription with the market's defaults, overridable per stream. */
  subscribe(options: SubscriptionOptions = {}): Subscription {
    const merged = { ...this.#subscriptionDefaults, ...options };
    const onClose = merged.onClose;
    const subscription = new Subscription(this.hub, {
      ...merged,
      onClose: () => {
        this.#open.delete(subscription);
        onClose?.();
      },
    });
    this.#open.add(subscription);
    return subscription;
  }

  /** Stops fanning out and closes the store. */
  async close(): Promise<void> {
    this.#stopListening();
    this.hub.close();
    this.#stopWatchingHealth();
    await this.#store.close();
  }

  // Updates published while the store was unreachable never arrived: give
  // the hub the current snapshot of every subscribed symbol; streams skip
  // what they already have and show the gap as a jump in sequence numbers.
  async #resync(): Promise<void> {
    const ids = [...this.hub.symbolIds()];
    if (ids.length === 0) return;
    let found: Array<Snapshot | undefined>;
    try {
      found = await this.#store.getMany(ids);
    } catch {
      return; // Down again: the next recovery resyncs.
    }
    for (let i = 0; i < ids.length; i++) this.hub.resync(ids[i]!, found[i]);
  }
}

// tickRecords pairs each applied tick with the snapshot it produced: this
// runs for every ingested batch, so it is a plain loop.
function tickRecords(ticks: readonly Tick[], snapshots: readonly Snapshot[]): TickRecord[] {
  const records = new Array<TickRecord>(snapshots.length);
  for (let i = 0; i < snapshots.length; i++) {
    const snapshot = snapshots[i]!;
    records[i] = {
      symbolId: snapshot.symbolId,
      sequence: snapshot.sequence,
      timeMs: snapshot.exchangeTimeMs,
      price: snapshot.ltp,
      quantity: ticks[i]!.volume ?? 0,
      bid: snapshot.bid,
      ask: snapshot.ask,
      bidSize: snapshot.bidSize,
      askSize: snapshot.askSize,
    };
  }
  return records;
}
