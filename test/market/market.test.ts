import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidTickError } from "../../src/market/errors.js";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { SlowConsumerError } from "../../src/market/errors.js";
import type { Snapshot } from "../../src/market/snapshot.js";

describe("Market", () => {
  it("ingests ticks into its store and reads them back", async () => {
    const market = new Market(new MemorySnapshotStore());
    const updated = await market.ingest([{ symbolId: 13, symbol: "NIFTY 50", ltp: 100 }, { symbolId: 25, ltp: 200 }]);
    assert.deepEqual(updated.map((s) => s.symbolId), [13, 25]);
    assert.equal((await market.get(13))?.symbol, "NIFTY 50");
    assert.deepEqual((await market.getMany([25, 1])).map((s) => s?.ltp), [200, undefined]);
    assert.deepEqual((await market.list()).map((s) => s.symbolId), [13, 25]);
    await market.close();
  });

  it("rejects a batch with an invalid tick and applies none of it", async () => {
    const market = new Market(new MemorySnapshotStore());
    await assert.rejects(market.ingest([{ symbolId: 13, ltp: 100 }, { symbolId: 25, ltp: -1 }]), (error: unknown) => {
      assert.ok(error instanceof InvalidTickError);
      assert.match(error.message, /ticks\[1\]\.ltp/);
      return true;
    });
    assert.equal(await market.get(13), undefined);
    await market.close();
  });

  it("pushes ingested updates to subscriptions of their symbols", async () => {
    const market = new Market(new MemorySnapshotStore());
    const subscription = market.subscribe();
    subscription.add([13]);
    await market.ingest([{ symbolId: 25, ltp: 1 }, { symbolId: 13, ltp: 2 }]);
    const first = await subscription.next();
    assert.equal((first.value as Snapshot).symbolId, 13);
    assert.equal(subscription.pending, 0);
    subscription.close();
    assert.equal(market.hub.subscriptionCount, 0);
    await market.close();
  });

  it("applies its subscription defaults, which a stream may override", async () => {
    const market = new Market(new MemorySnapshotStore(), { bufferSize: 1, overflow: "close" });
    const strict = market.subscribe();
    const lenient = market.subscribe({ overflow: "conflate" });
    strict.add([1, 2]);
    lenient.add([1, 2]);
    await market.ingest([{ symbolId: 1, ltp: 1 }, { symbolId: 2, ltp: 1 }]);
    assert.equal(strict.closed, true);
    await assert.rejects(strict.next(), SlowConsumerError);
    assert.equal(lenient.closed, false);
    assert.equal(lenient.pending, 2);
    lenient.close();
    await market.close();
  });

  it("stops fanning out once closed", async () => {
    const store = new MemorySnapshotStore();
    const market = new Market(store);
    const subscription = market.subscribe();
    subscription.add([1]);
    await market.close();
    await store.apply([{ symbolId: 1, ltp: 1 }]);
    assert.equal(subscription.pending, 0);
    subscription.close();
  });
});
