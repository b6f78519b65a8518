import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { InvalidTickError } from "../../src/market/errors.js";
import type { Snapshot, Tick } from "../../src/market/snapshot.js";
import type { SnapshotStore } from "../../src/market/snapshot-store.js";

describe("MemorySnapshotStore", () => {
  it("has nothing for a symbol it never saw", async () => {
    const store = new MemorySnapshotStore();
    assert.equal(await store.get(13), undefined);
    assert.deepEqual(await store.getMany([13, 25]), [undefined, undefined]);
    assert.deepEqual(await store.list(), []);
  });

  it("folds ticks in order and returns each resulting snapshot", async () => {
    const store = new MemorySnapshotStore();
    const updated = await store.apply([
      { symbolId: 13, symbol: "NIFTY 50", ltp: 100 },
      { symbolId: 13, ltp: 110, volume: 5 },
      { symbolId: 25, ltp: 200 },
    ]);
    assert.deepEqual(updated.map((s) => [s.symbolId, s.ltp, s.sequence]), [[13, 100, 1], [13, 110, 2], [25, 200, 1]]);
    const nifty = await store.get(13);
    assert.equal(nifty?.ltp, 110);
    assert.equal(nifty?.high, 110);
    assert.equal(nifty?.symbol, "NIFTY 50");
    assert.equal(nifty?.volume, 5);
  });

  it("asks admission for each tick with the snapshot it folds into, and writes nothing of a batch it refuses", async () => {
    const store = new MemorySnapshotStore();
    await store.apply([{ symbolId: 41, symbol: "FORTY-ONE", ltp: 10 }]);
    const seen: Array<[number, number | undefined, number | undefined]> = [];
    const refusing = (previous: Snapshot | undefined, tick: Tick, index: number) => {
      seen.push([index, previous?.sequence, previous?.ltp]);
      if (tick.ltp > 100) throw new InvalidTickError(`ticks[${index}].ltp is too high`);
    };
    await assert.rejects(
      store.apply([{ symbolId: 41, ltp: 11 }, { symbolId: 42, symbol: "FORTY-TWO", ltp: 1 }, { symbolId: 41, ltp: 12 }, { symbolId: 41, ltp: 500 }], refusing),
      /^InvalidTickError: ticks\[3\]\.ltp is too high$/,
    );
    assert.deepEqual(seen, [[0, 1, 10], [1, undefined, undefined], [2, 2, 11], [3, 3, 12]]);
    assert.equal((await store.get(41))!.sequence, 1, "nothing of the refused batch was written");
    assert.equal(await store.get(42), undefined);
    const applied = await store.apply([{ symbolId: 41, ltp: 13 }], refusing);
    assert.equal(applied[0]!.sequence, 2);
  });

  it("returns many snapshots in the order asked, with gaps for unknown ids", async () => {
    const store = new MemorySnapshotStore();
    await store.apply([{ symbolId: 25, ltp: 2 }, { symbolId: 13, ltp: 1 }]);
    const many = await store.getMany([13, 999, 25, 13]);
    assert.deepEqual(many.map((s) => s?.symbolId), [13, undefined, 25, 13]);
  });

  it("lists every snapshot ordered by symbol id", async () => {
    const store = new MemorySnapshotStore();
    await store.apply([{ symbolId: 1001, ltp: 3 }, { symbolId: 13, ltp: 1 }, { symbolId: 27, ltp: 2 }]);
    assert.deepEqual((await store.list()).map((s) => s.symbolId), [13, 27, 1001]);
  });

  it("announces every update after the whole batch is stored", async () => {
    const store = new MemorySnapshotStore();
    const announced: Array<[number, number]> = [];
    const readBack: Array<Promise<Snapshot | undefined>> = [];
    store.onUpdate((s) => {
      announced.push([s.symbolId, s.sequence]);
      readBack.push(store.get(13));
    });
    await store.apply([{ symbolId: 13, ltp: 1 }, { symbolId: 13, ltp: 2 }]);
    assert.deepEqual(announced, [[13, 1], [13, 2]]);
    // Even the first announcement reads back the batch's last tick.
    assert.deepEqual((await Promise.all(readBack)).map((s) => s?.ltp), [2, 2]);
  });

  it("stops announcing to a listener once removed, and to all once closed", async () => {
    const store = new MemorySnapshotStore();
    let first = 0;
    let second = 0;
    const removeFirst = store.onUpdate(() => first++);
    store.onUpdate(() => second++);
    await store.apply([{ symbolId: 1, ltp: 1 }]);
    removeFirst();
    await store.apply([{ symbolId: 1, ltp: 1 }]);
    assert.deepEqual([first, second], [1, 2]);
    await store.close();
    await store.apply([{ symbolId: 1, ltp: 1 }]);
    assert.deepEqual([first, second], [1, 2]);
  });

  it("is always healthy", () => {
    const store: SnapshotStore = new MemorySnapshotStore();
    assert.equal(store.healthy, true);
    const stop = store.onHealthChange(() => assert.fail("memory never changes health"));
    stop();
  });
});
