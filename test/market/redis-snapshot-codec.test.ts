import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeDepth, decodeSnapshot, encodeDepth, tickArguments } from "../../src/market/redis-snapshot-codec.js";
import { NO_DEPTH, type MarketDepth } from "../../src/market/snapshot.js";

const BOOK: MarketDepth = {
  bids: [
    { price: 0.1 + 0.2, quantity: 2 ** 40, orders: 0xffffffff },
    { price: 24350, quantity: 0, orders: 0 },
  ],
  asks: [{ price: 1e21, quantity: 7, orders: 1 }],
};

describe("Redis snapshot codec", () => {
  it("packs a book and reads back the exact prices and counts", () => {
    assert.deepEqual(decodeDepth(encodeDepth(BOOK)), BOOK);
    assert.deepEqual(decodeDepth(encodeDepth({ bids: [], asks: BOOK.asks })), { bids: [], asks: BOOK.asks });
  });

  it("packs an empty book as a bar, so that it differs from a tick without a book", () => {
    assert.equal(encodeDepth({ bids: [], asks: [] }), "|");
    assert.equal(decodeDepth("|"), NO_DEPTH);
    const args: string[] = [];
    tickArguments({ symbolId: 1, ltp: 1 }, args);
    assert.equal(args.at(-1), "");
  });

  it("reads a record written before books existed as a snapshot without a book", () => {
    const packed = JSON.stringify(["13", "2", "24350.5", "24300", "24400", "24250", "24310", "75", "24350.45", "24350.55", "25", "50", "1000", "NIFTY 50"]);
    const snapshot = decodeSnapshot(packed);
    assert.equal(snapshot.symbol, "NIFTY 50");
    assert.equal(snapshot.depth, NO_DEPTH);
    assert.deepEqual(decodeSnapshot(JSON.stringify([...JSON.parse(packed), encodeDepth(BOOK)])).depth, BOOK);
  });

  it("sends the book's first levels as the bid and ask of a tick that has none", () => {
    const args: string[] = [];
    tickArguments({ symbolId: 1, ltp: 1, ask: 2, depth: BOOK }, args);
    assert.deepEqual(args.slice(3, 7), [String(0.1 + 0.2), "2", String(2 ** 40), "7"]);
  });
});
