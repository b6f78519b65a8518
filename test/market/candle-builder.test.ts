import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { foldRecord, foldRecords } from "../../src/market/candle-builder.js";
import type { Candle, TickRecord } from "../../src/market/history-store.js";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);

function rec(sequence: number, timeMs: number, price: number, quantity: number): TickRecord {
  return { symbolId: 13, sequence, timeMs, price, quantity, bid: price - 1, ask: price + 1, bidSize: 1, askSize: 2 };
}

function ohlcv(candle: Candle): [number, number, number, number, number, number, number, number] {
  return [candle.startMs, candle.open, candle.high, candle.low, candle.close, candle.volume, candle.tickCount, candle.lastSequence];
}

describe("foldRecord", () => {
  it("opens a bar with the first tick and folds the next ones by sequence", () => {
    let candle = foldRecord(undefined, rec(1, T0 + 10_500, 100, 10), "1m");
    assert.deepEqual(ohlcv(candle), [T0, 100, 100, 100, 100, 10, 1, 1]);
    assert.equal(candle.interval, "1m");
    assert.equal(candle.symbolId, 13);
    candle = foldRecord(candle, rec(2, T0 + 20_000, 104, 5), "1m");
    candle = foldRecord(candle, rec(3, T0 + 59_999, 97, 0), "1m");
    assert.deepEqual(ohlcv(candle), [T0, 100, 104, 97, 97, 15, 3, 3]);
  });

  it("leaves a bar unchanged for a tick it already holds", () => {
    const candle = foldRecord(foldRecord(undefined, rec(1, T0, 100, 1), "1s"), rec(2, T0 + 1, 90, 1), "1s");
    assert.equal(foldRecord(candle, rec(2, T0 + 1, 90, 1), "1s"), candle);
    assert.equal(foldRecord(candle, rec(1, T0, 100, 1), "1s"), candle);
  });

  it("refuses a tick from another bucket", () => {
    const candle = foldRecord(undefined, rec(1, T0, 100, 1), "1m");
    assert.throws(() => foldRecord(candle, rec(2, T0 + 60_000, 100, 1), "1m"), RangeError);
  });
});

describe("foldRecords", () => {
  it("returns one bar per bucket with ticks, oldest first, even when exchange time went back", () => {
    const candles = foldRecords(
      [rec(1, T0, 100, 1), rec(2, T0 + 999, 101, 1), rec(3, T0 + 2_000, 99, 2), rec(4, T0 + 500, 103, 4)],
      "1s",
    );
    // The tick at T0+500 came last by sequence, so it closes the first bar.
    assert.deepEqual(candles.map(ohlcv), [
      [T0, 100, 103, 100, 103, 6, 3, 4],
      [T0 + 2_000, 99, 99, 99, 99, 2, 1, 3],
    ]);
  });

  it("returns no bars for no ticks", () => {
    assert.deepEqual(foldRecords([], "1h"), []);
  });
});
