import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { foldTick, NO_DEPTH, type MarketDepth, type Snapshot } from "../../src/market/snapshot.js";

const NOW = Date.UTC(2026, 0, 5, 9, 15);

describe("foldTick", () => {
  it("creates the first snapshot of a symbol from its first tick", () => {
    const first = foldTick(undefined, { symbolId: 13, symbol: "NIFTY 50", ltp: 24350, volume: 75 }, NOW);
    assert.deepEqual(first, {
      symbolId: 13,
      symbol: "NIFTY 50",
      ltp: 24350,
      open: 24350,
      high: 24350,
      low: 24350,
      close: 24350,
      volume: 75,
      bid: 24350,
      ask: 24350,
      bidSize: 0,
      askSize: 0,
      sequence: 1,
      exchangeTimeMs: NOW,
      depth: NO_DEPTH,
    } satisfies Snapshot);
  });

  it("keeps the open and the previous close, widens high and low, and adds volume", () => {
    let s = foldTick(undefined, { symbolId: 25, ltp: 100, volume: 10 }, NOW);
    s = foldTick(s, { symbolId: 25, ltp: 104.5, volume: 5 }, NOW + 1);
    s = foldTick(s, { symbolId: 25, ltp: 97.25, volume: 1 }, NOW + 2);
    s = foldTick(s, { symbolId: 25, ltp: 101 }, NOW + 3);
    assert.equal(s.ltp, 101);
    assert.equal(s.open, 100);
    assert.equal(s.close, 100);
    assert.equal(s.high, 104.5);
    assert.equal(s.low, 97.25);
    assert.equal(s.volume, 16);
    assert.equal(s.sequence, 4);
    assert.equal(s.exchangeTimeMs, NOW + 3);
  });

  it("keeps the last known quote when a tick carries only a price", () => {
    const quoted = foldTick(undefined, { symbolId: 27, ltp: 50, bid: 49.95, ask: 50.05, bidSize: 100, askSize: 200 }, NOW);
    const traded = foldTick(quoted, { symbolId: 27, ltp: 50.1 }, NOW);
    assert.equal(traded.bid, 49.95);
    assert.equal(traded.ask, 50.05);
    assert.equal(traded.bidSize, 100);
    assert.equal(traded.askSize, 200);
    const requoted = foldTick(traded, { symbolId: 27, ltp: 50.1, bid: 50, ask: 50.15, bidSize: 0 }, NOW);
    assert.equal(requoted.bid, 50);
    assert.equal(requoted.ask, 50.15);
    assert.equal(requoted.bidSize, 0);
    assert.equal(requoted.askSize, 200);
  });

  it("uses the exchange time of the tick, or the receiver's clock without one", () => {
    const stamped = foldTick(undefined, { symbolId: 1, ltp: 1, exchangeTimeMs: 1234 }, NOW);
    assert.equal(stamped.exchangeTimeMs, 1234);
    assert.equal(foldTick(stamped, { symbolId: 1, ltp: 2 }, NOW).exchangeTimeMs, NOW);
  });

  it("names a symbol, keeps its name when a tick has none, and takes a new one", () => {
    const unnamed = foldTick(undefined, { symbolId: 7, ltp: 1 }, NOW);
    assert.equal(unnamed.symbol, "");
    const named = foldTick(unnamed, { symbolId: 7, ltp: 1, symbol: "SEVEN" }, NOW);
    assert.equal(named.symbol, "SEVEN");
    assert.equal(foldTick(named, { symbolId: 7, ltp: 1 }, NOW).symbol, "SEVEN");
    assert.equal(foldTick(named, { symbolId: 7, ltp: 1, symbol: "" }, NOW).symbol, "SEVEN");
    assert.equal(foldTick(named, { symbolId: 7, ltp: 1, symbol: "OTHER" }, NOW).symbol, "OTHER");
  });

  it("never changes the previous snapshot", () => {
    const before = Object.freeze(foldTick(undefined, { symbolId: 9, ltp: 10 }, NOW));
    const after = foldTick(before, { symbolId: 9, ltp: 11, volume: 3 }, NOW);
    assert.notEqual(after, before);
    assert.equal(before.ltp, 10);
    assert.equal(before.sequence, 1);
  });

  it("replaces the book when a tick carries one and keeps it when a tick does not", () => {
    const book: MarketDepth = {
      bids: [{ price: 99.95, quantity: 50, orders: 2 }, { price: 99.9, quantity: 75, orders: 3 }],
      asks: [{ price: 100.05, quantity: 25, orders: 1 }],
    };
    const booked = foldTick(foldTick(undefined, { symbolId: 3, ltp: 100 }, NOW), { symbolId: 3, ltp: 100, depth: book }, NOW);
    assert.deepEqual(booked.depth, book);
    const traded = foldTick(booked, { symbolId: 3, ltp: 100.05, volume: 25 }, NOW);
    assert.equal(traded.depth, book);
    const cleared = foldTick(traded, { symbolId: 3, ltp: 100.05, depth: { bids: [], asks: [] } }, NOW);
    assert.deepEqual(cleared.depth, { bids: [], asks: [] });
  });

  it("takes the best bid and ask from the book's first levels when the tick has none of its own", () => {
    const depth: MarketDepth = {
      bids: [{ price: 99.95, quantity: 50, orders: 2 }],
      asks: [{ price: 100.05, quantity: 25, orders: 1 }],
    };
    const first = foldTick(undefined, { symbolId: 4, ltp: 100, depth }, NOW);
    assert.deepEqual([first.bid, first.bidSize, first.ask, first.askSize], [99.95, 50, 100.05, 25]);
    const own = foldTick(first, { symbolId: 4, ltp: 100, bid: 99.9, askSize: 10, depth }, NOW);
    assert.deepEqual([own.bid, own.bidSize, own.ask, own.askSize], [99.9, 50, 100.05, 10]);
    const oneSided = foldTick(own, { symbolId: 4, ltp: 100, depth: { bids: [], asks: [{ price: 100.1, quantity: 5, orders: 1 }] } }, NOW);
    assert.deepEqual([oneSided.bid, oneSided.bidSize, oneSided.ask, oneSided.askSize], [99.9, 50, 100.1, 5]);
  });
});
