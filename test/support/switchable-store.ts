import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import type { SnapshotStore } from "../../src/market/snapshot-store.js";

/**
 * SwitchableStore is an in-memory store whose health a test turns off and
 * on, the way a networked store's health follows its connection.
 */
export class SwitchableStore implements SnapshotStore {
  readonly #inner = new MemorySnapshotStore();
  readonly #healthListeners = new Set<(healthy: boolean) => void>();
  #healthy = true;

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Changes health and tells every listener. */
  setHealthy(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    for (const listener of this.#healthListeners) listener(healthy);
  }

  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  get: SnapshotStore["get"] = (id) => this.#inner.get(id);
  getMany: SnapshotStore["getMany"] = (ids) => this.#inner.getMany(ids);
  list: SnapshotStore["list"] = () => this.#inner.list();
  apply: SnapshotStore["apply"] = (ticks) => this.#inner.apply(ticks);
  onUpdate: SnapshotStore["onUpdate"] = (listener) => this.#inner.onUpdate(listener);
  close: SnapshotStore["close"] = () => this.#inner.close();
}
