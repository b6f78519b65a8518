import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidTickError, SlowConsumerError, StoreUnavailableError, SymbolRightsError } from "../../src/market/errors.js";
import type { TickRecord } from "../../src/market/history-store.js";
import { HistoryWriter } from "../../src/market/history-writer.js";
import { Market } from "../../src/market/market.js";
import { MemoryHistoryStore } from "../../src/market/memory-history.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import type { SnapshotStore } from "../../src/market/snapshot-store.js";
import { recordingSink, turn, turns } from "../support/recording-sink.js";
import { SwitchableStore } from "../support/switchable-store.js";

describe("Market", () => {
  it("ingests ticks into its store and reads them back", async () => {
    const market = new Market(new MemorySnapshotStore());
    const updated = await market.ingest([{ symbolId: 13, symbol: "NIFTY 50", ltp: 100 }, { symbolId: 25, symbol: "BANK NIFTY", ltp: 200 }]);
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
    const market = new Market(new MemorySnapshotStore(), {}, { flushWindowMs: 0 });
    const subscription = market.subscribe();
    subscription.add([13]);
    const sink = recordingSink();
    subscription.attach(sink);
    assert.equal(market.subscriptions.size, 1);
    await market.ingest([{ symbolId: 25, symbol: "BANK NIFTY", ltp: 1 }, { symbolId: 13, symbol: "NIFTY 50", ltp: 2 }]);
    await turn();
    assert.deepEqual(sink.labels(), ["13#1"]);
    assert.equal(subscription.pending, 0);
    subscription.close();
    assert.equal(market.hub.subscriptionCount, 0);
    assert.equal(market.subscriptions.size, 0);
    await market.close();
  });

  it("applies its subscription defaults, which a stream may override", async () => {
    let closes = 0;
    const market = new Market(new MemorySnapshotStore(), { bufferSize: 1, overflow: "close" }, { flushWindowMs: 0 });
    const strict = market.subscribe({ onClose: () => closes++ });
    const lenient = market.subscribe({ overflow: "conflate" });
    const strictSink = recordingSink(false);
    const lenientSink = recordingSink(false);
    strict.add([1, 2]);
    lenient.add([1, 2]);
    strict.attach(strictSink);
    lenient.attach(lenientSink);
    // Each stream takes one delivery and then cannot take more.
    await market.ingest([{ symbolId: 1, symbol: "ONE", ltp: 1 }]);
    await turn();
    await market.ingest([{ symbolId: 1, ltp: 2 }]);
    await turn();
    assert.equal(strict.closed, false);
    await market.ingest([{ symbolId: 2, symbol: "TWO", ltp: 1 }]);
    await turn();
    assert.equal(strict.closed, true);
    assert.ok(strictSink.closes[0] instanceof SlowConsumerError);
    assert.equal(closes, 1, "the stream's own onClose is kept");
    assert.equal(lenient.closed, false);
    assert.equal(lenient.pending, 2);
    assert.deepEqual([...market.subscriptions], [lenient]);
    lenient.close();
    await market.close();
  });

  it("stops fanning out once closed", async () => {
    const store = new MemorySnapshotStore();
    const market = new Market(store, {}, { flushWindowMs: 0 });
    const subscription = market.subscribe();
    subscription.add([1]);
    const sink = recordingSink();
    subscription.attach(sink);
    await market.close();
    await store.apply([{ symbolId: 1, ltp: 1 }]);
    await turns(2);
    assert.deepEqual(sink.labels(), []);
    assert.equal(subscription.pending, 0);
    subscription.close();
  });

  it("gives open streams what they missed while the store was down, and nothing twice", async () => {
    const inner = new SwitchableStore();
    // An outage swallows the store's announcements; the store itself keeps going.
    let announcing = true;
    const store: SnapshotStore = {
      get healthy() {
        return inner.healthy;
      },
      onHealthChange: (listener) => inner.onHealthChange(listener),
      onUpdate: (listener) => inner.onUpdate((snapshot) => announcing && listener(snapshot)),
      get: inner.get,
      getMany: inner.getMany,
      list: inner.list,
      apply: inner.apply,
      close: inner.close,
    };
    const market = new Market(store, {}, { flushWindowMs: 0 });
    const subscription = market.subscribe();
    subscription.add([1, 2]);
    const sink = recordingSink();
    subscription.attach(sink);
    await market.ingest([{ symbolId: 1, symbol: "ONE", ltp: 1 }, { symbolId: 2, symbol: "TWO", ltp: 1 }]);
    await turn();
    assert.deepEqual(sink.labels(), ["1#1", "2#1"]);
    inner.setHealthy(false);
    announcing = false;
    await market.ingest([{ symbolId: 2, ltp: 2 }, { symbolId: 2, ltp: 3 }]);
    announcing = true;
    inner.setHealthy(true);
    await turns(3);
    // Symbol 2 jumps from 1 to 3; symbol 1, unchanged, is not sent again.
    assert.deepEqual(sink.labels(), ["1#1", "2#1", "2#3"]);
    subscription.close();
    await market.close();
  });

  it("ends open streams with StoreUnavailableError on store loss when told to", async () => {
    const store = new SwitchableStore();
    const market = new Market(store, {}, { streamsOnStoreLoss: "close" });
    const subscription = market.subscribe();
    subscription.add([1]);
    const sink = recordingSink();
    subscription.attach(sink);
    store.setHealthy(false);
    assert.equal(subscription.closed, true);
    assert.equal(sink.closes.length, 1);
    assert.ok(sink.closes[0] instanceof StoreUnavailableError);
    assert.equal(market.subscriptions.size, 0);
    assert.equal(market.hub.subscriptionCount, 0);
    await market.close();
  });
});

describe("Market history", () => {
  function recorder() {
    const batches: TickRecord[][] = [];
    return { batches, record: async (records: readonly TickRecord[]) => void batches.push([...records]) };
  }

  it("records every applied tick once, from the tick and the snapshot it produced", async () => {
    const history = recorder();
    const market = new Market(new MemorySnapshotStore(), {}, { history });
    await market.ingest([
      { symbolId: 13, symbol: "NIFTY 50", ltp: 100, volume: 7, bid: 99.5, ask: 100.5, bidSize: 10, askSize: 20, exchangeTimeMs: 1_000 },
      { symbolId: 25, symbol: "BANK NIFTY", ltp: 200, exchangeTimeMs: 2_000 },
    ]);
    await market.ingest([{ symbolId: 13, ltp: 101, volume: 3, exchangeTimeMs: 3_000 }]);
    assert.deepEqual(history.batches, [
      [
        { symbolId: 13, sequence: 1, timeMs: 1_000, price: 100, quantity: 7, bid: 99.5, ask: 100.5, bidSize: 10, askSize: 20 },
        { symbolId: 25, sequence: 1, timeMs: 2_000, price: 200, quantity: 0, bid: 200, ask: 200, bidSize: 0, askSize: 0 },
      ],
      // The quote carries over from the snapshot; the quantity is the tick's own.
      [{ symbolId: 13, sequence: 2, timeMs: 3_000, price: 101, quantity: 3, bid: 99.5, ask: 100.5, bidSize: 10, askSize: 20 }],
    ]);
    await market.close();
  });

  it("with a durable history writer, has the bars in the store once ingest resolves", async () => {
    const store = new MemoryHistoryStore();
    const writer = new HistoryWriter(store, {
      queueLimit: 1_000,
      batchSize: 100,
      flushMs: 5,
      policy: "backpressure",
      ack: "durable",
      ackTimeoutMs: 1_000,
    });
    const market = new Market(new MemorySnapshotStore(), {}, { history: writer });
    const t0 = Date.UTC(2026, 11, 1, 9, 0, 0);
    await market.ingest([{ symbolId: 13, symbol: "NIFTY 50", ltp: 100, volume: 2, exchangeTimeMs: t0 }]);
    await market.ingest([
      { symbolId: 13, ltp: 104, volume: 1, exchangeTimeMs: t0 + 20_000 },
      { symbolId: 13, ltp: 99, volume: 5, exchangeTimeMs: t0 + 61_000 },
    ]);
    const bars = await store.candles({ symbolId: 13, interval: "1m", startMs: t0, endMs: t0 + 120_000, limit: 10 });
    assert.deepEqual(
      bars.map((c) => [c.startMs - t0, c.open, c.high, c.low, c.close, c.volume, c.tickCount, c.lastSequence]),
      [
        [0, 100, 104, 100, 104, 3, 2, 2],
        [60_000, 99, 99, 99, 99, 5, 1, 3],
      ],
    );
    await writer.close();
    await market.close();
  });

  it("records nothing for a batch it refuses", async () => {
    const history = recorder();
    const market = new Market(new MemorySnapshotStore(), {}, { history });
    await assert.rejects(market.ingest([{ symbolId: 13, symbol: "A", ltp: 100 }, { symbolId: 25, ltp: -1 }]), InvalidTickError);
    await assert.rejects(market.ingest([{ symbolId: 13, symbol: "A", ltp: 100 }], { manageSymbols: false }), SymbolRightsError);
    assert.deepEqual(history.batches, []);
    await market.close();
  });

  it("resolves ingest only once the history took the records, and fails it when the history fails", async () => {
    let release: () => void = () => {};
    let fail = false;
    const market = new Market(new MemorySnapshotStore(), {}, {
      history: {
        record: () =>
          fail ? Promise.reject(new StoreUnavailableError("history down")) : new Promise<void>((resolve) => (release = resolve)),
      },
    });
    let done = false;
    const ingested = market.ingest([{ symbolId: 13, symbol: "A", ltp: 100 }]).then(() => (done = true));
    await turns(3);
    assert.equal(done, false);
    release();
    await ingested;
    assert.equal(done, true);
    fail = true;
    await assert.rejects(market.ingest([{ symbolId: 13, ltp: 101 }]), StoreUnavailableError);
    // The tick was applied: live prices never wait on history.
    assert.equal((await market.get(13))?.ltp, 101);
    await market.close();
  });
});
