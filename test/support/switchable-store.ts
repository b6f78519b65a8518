import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import type { SnapshotStore } from "../../src/market/snapshot-store.js";

/**
 * SwitchableStore is an in-memory store whose health a test turns off and
 * on, the way a networked store's health follows its connection, and
 * whose single-symbol reads a test can hold, the way a slow store's would.
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

  #held: Array<() => void> | undefined;

  /** Makes reads of one symbol wait until release() is called, as a slow store would. */
  holdReads(): void {
    this.#held ??= [];
  }

  /** Reads waiting for release(). */
  get heldReads(): number {
    return this.#held?.length ?? 0;
  }

  /** Lets held reads, and every later one, through. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const go of held) go();
  }

  get: SnapshotStore["get"] = async (id) => {
    if (this.#held !== undefined) await new Promise<void>((resolve) => this.#held!.push(resolve));
    return this.#inner.get(id);
  };
  getMany: SnapshotStore["getMany"] = (ids) => this.#inner.getMany(ids);
  list: SnapshotStore["list"] = () => this.#inner.list();
  apply: SnapshotStore["apply"] = (ticks) => this.#inner.apply(ticks);
  onUpdate: SnapshotStore["onUpdate"] = (listener) => this.#inner.onUpdate(listener);
  close: SnapshotStore["close"] = () => this.#inner.close();
}
