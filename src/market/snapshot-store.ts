import type { Snapshot, Tick } from "./snapshot.js";

/**
 * UpdateListener receives every snapshot a store writes, from any writer.
 */
export type UpdateListener = (snapshot: Snapshot) => void;

/**
 * TickAdmission is how a store asks whether a tick may be folded: it is
 * called for each tick of a batch, in order, with the snapshot the tick
 * would fold into (earlier ticks of the batch included; undefined for a new
 * symbol), before anything is written, and throws to refuse the whole batch.
 */
export type TickAdmission = (previous: Snapshot | undefined, tick: Tick, index: number) => void;

/**
 * SnapshotStore holds the current snapshot of every symbol and announces
 * every update.
 *
 * The store is the source of truth for both reads and updates, so a store
 * shared by several gateways (Redis) announces updates written by any of them.
 */
export interface SnapshotStore {
  /** Returns the snapshot of one symbol, or undefined when it has none. */
  get(symbolId: number): Promise<Snapshot | undefined>;
  /** Returns the snapshots of many symbols, in the order asked, in one round trip. */
  getMany(symbolIds: readonly number[]): Promise<Array<Snapshot | undefined>>;
  /** Returns every snapshot, ordered by symbol id. */
  list(): Promise<Snapshot[]>;
  /**
   * Folds ticks into snapshots atomically per tick, in order, and returns
   * the resulting snapshots; the ticks must be valid. When `admit` refuses a
   * tick, nothing of the batch is written and its error is the rejection.
   */
  apply(ticks: readonly Tick[], admit?: TickAdmission): Promise<Snapshot[]>;
  /** Registers a listener for every update; returns the function that removes it. */
  onUpdate(listener: UpdateListener): () => void;
  /** True while the store can serve reads and writes. */
  readonly healthy: boolean;
  /** Registers a listener for changes of `healthy`; returns the function that removes it. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
  /** Releases connections and timers. */
  close(): Promise<void>;
}
