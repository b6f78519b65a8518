import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Candle } from "../../src/market/history-store.js";
import { LiveCandles } from "../../src/market/live-candles.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";

const T0 = Date.UTC(2026, 11, 1, 9, 15, 0);

function ohlcv(candle: Candle | undefined): number[] | undefined {
  if (candle === undefined) return undefined;
  return [candle.startMs, candle.open, candle.high, candle.low, candle.close, candle.volume, candle.tickCount, candle.lastSequence];
}

async function storeWithSymbol(): Promise<MemorySnapshotStore> {
  const store = new MemorySnapshotStore();
  await store.apply([{ symbolId: 13, symbol: "NIFTY 50", ltp: 100, volume: 5, exchangeTimeMs: T0 - 30_000 }]);
  return store;
}

describe("LiveCandles", () => {
  it("folds every update after the seed into the bar in progress, quantities from the running volume", async () => {
    const store = await storeWithSymbol();
    const live = new LiveCandles(store);
    const seen: Candle[] = [];
    const watch = live.watch(13, "1m", (c) => seen.push(c), async () => ({ snapshot: await store.get(13), bar: undefined }));
    await watch.ready;
    assert.equal(watch.current, undefined);
    await store.apply([
      { symbolId: 13, ltp: 101, volume: 10, exchangeTimeMs: T0 + 1_000 },
      { symbolId: 13, ltp: 99, volume: 3, exchangeTimeMs: T0 + 2_000 },
      { symbolId: 13, ltp: 104, volume: 7, exchangeTimeMs: T0 + 59_999 },
    ]);
    assert.deepEqual(ohlcv(watch.current), [T0, 101, 104, 99, 104, 20, 3, 4]);
    assert.equal(seen.length, 3);
    await store.apply([{ symbolId: 13, ltp: 98, volume: 2, exchangeTimeMs: T0 + 60_000 }]);
    assert.deepEqual(ohlcv(watch.current), [T0 + 60_000, 98, 98, 98, 98, 2, 1, 5]);
    watch.close();
    assert.equal(live.watched, 0);
    live.close();
    await store.close();
  });

  it("continues a stored bar with only the ticks it does not hold, including those that arrived while seeding", async () => {
    const store = await storeWithSymbol();
    const live = new LiveCandles(store);
    const stored: Candle = { symbolId: 13, interval: "1m", startMs: T0, open: 100, high: 102, low: 100, close: 101, volume: 9, tickCount: 2, lastSequence: 3 };
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const watch = live.watch(13, "1m", () => undefined, async () => {
      const snapshot = await store.get(13);
      await gate;
      return { snapshot, bar: stored };
    });
    // Sequences 2 and 3 are in the stored bar; 4 arrives while the seed is read.
    await store.apply([
      { symbolId: 13, ltp: 102, volume: 4, exchangeTimeMs: T0 + 1_000 },
      { symbolId: 13, ltp: 101, volume: 5, exchangeTimeMs: T0 + 2_000 },
      { symbolId: 13, ltp: 95, volume: 6, exchangeTimeMs: T0 + 3_000 },
    ]);
    release();
    await watch.ready;
    // The seed's snapshot was sequence 1, so 2 and 3 only move the baseline.
    assert.deepEqual(ohlcv(watch.current), [T0, 100, 102, 95, 95, 15, 3, 4]);
    watch.close();
    live.close();
    await store.close();
  });

  it("shares one bar among watchers and leaves other symbols and intervals alone", async () => {
    const store = await storeWithSymbol();
    await store.apply([{ symbolId: 7, symbol: "OTHER", ltp: 50, exchangeTimeMs: T0 }]);
    const live = new LiveCandles(store);
    let seeds = 0;
    const seed = async () => {
      seeds++;
      return { snapshot: await store.get(13), bar: undefined };
    };
    const a = live.watch(13, "1m", () => undefined, seed);
    const b = live.watch(13, "1m", () => undefined, seed);
    const day = live.watch(13, "1d", () => undefined, seed);
    await Promise.all([a.ready, b.ready, day.ready]);
    assert.equal(seeds, 2);
    assert.equal(live.watched, 2);
    await store.apply([{ symbolId: 7, ltp: 51, exchangeTimeMs: T0 + 1 }]);
    assert.equal(a.current, undefined);
    await store.apply([{ symbolId: 13, ltp: 103, volume: 1, exchangeTimeMs: T0 + 5 }]);
    assert.equal(a.current, b.current);
    assert.deepEqual(ohlcv(day.current), [Date.UTC(2026, 11, 1), 103, 103, 103, 103, 1, 1, 2]);
    a.close();
    assert.equal(live.watched, 2);
    b.close();
    day.close();
    assert.equal(live.watched, 0);
    live.close();
    await store.close();
  });

  it("counts no quantity across a gap in sequence numbers", async () => {
    const store = await storeWithSymbol();
    const live = new LiveCandles(store);
    const first = await store.get(13);
    const watch = live.watch(13, "1m", () => undefined, async () => ({ snapshot: first, bar: undefined }));
    await watch.ready;
    // The seed claims sequence 1, then 2 is never announced to the watcher.
    live.close();
    await store.apply([{ symbolId: 13, ltp: 101, volume: 10, exchangeTimeMs: T0 }]);
    const again = new LiveCandles(store);
    const late = again.watch(13, "1m", () => undefined, async () => ({ snapshot: first, bar: undefined }));
    await late.ready;
    await store.apply([{ symbolId: 13, ltp: 102, volume: 3, exchangeTimeMs: T0 + 1 }]);
    assert.deepEqual(ohlcv(late.current), [T0, 102, 102, 102, 102, 0, 1, 3]);
    late.close();
    again.close();
    await store.close();
  });
});
