import { foldTick, type Snapshot, type Tick } from "./snapshot.js";
import type { SnapshotStore, TickAdmission, UpdateListener } from "./snapshot-store.js";

/**
 * MemorySnapshotStore keeps snapshots in this process: the embedded default
 * for a single gateway.
 */
export class MemorySnapshotStore implements SnapshotStore {
  readonly healthy = true;
  readonly #snapshots = new Map<number, Snapshot>();
  readonly #listeners = new Set<UpdateListener>();

  get(symbolId: number): Promise<Snapshot | undefined> {
    return Promise.resolve(this.#snapshots.get(symbolId));
  }

  getMany(symbolIds: readonly number[]): Promise<Array<Snapshot | undefined>> {
    return Promise.resolve(symbolIds.map((id) => this.#snapshots.get(id)));
  }

  list(): Promise<Snapshot[]> {
    return Promise.resolve([...this.#snapshots.values()].sort((a, b) => a.symbolId - b.symbolId));
  }

  apply(ticks: readonly Tick[], admit?: TickAdmission): Promise<Snapshot[]> {
    const now = Date.now();
    const updated = new Array<Snapshot>(ticks.length);
    // Folded aside and stored only once every tick is admitted: a refused
    // tick leaves the whole batch unwritten. Check and write happen in one
    // synchronous step, so no other batch can come between them.
    const folded = new Map<number, Snapshot>();
    for (let i = 0; i < ticks.length; i++) {
      const tick = ticks[i]!;
      const previous = folded.get(tick.symbolId) ?? this.#snapshots.get(tick.symbolId);
      try {
        admit?.(previous, tick, i);
      } catch (error) {
        return Promise.reject(error);
      }
      const next = foldTick(previous, tick, now);
      folded.set(tick.symbolId, next);
      updated[i] = next;
    }
    for (const [symbolId, snapshot] of folded) this.#snapshots.set(symbolId, snapshot);
    // Announce after the whole batch is stored, so a listener that reads
    // back sees every tick of the batch.
    for (const snapshot of updated) {
      for (const listener of this.#listeners) listener(snapshot);
    }
    return Promise.resolve(updated);
  }

  onUpdate(listener: UpdateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onHealthChange(): () => void {
    // Memory is always there: health never changes.
    return () => undefined;
  }

  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }
}
