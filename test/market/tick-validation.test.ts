import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidTickError } from "../../src/market/errors.js";
import type { Tick } from "../../src/market/snapshot.js";
import { validateTick } from "../../src/market/tick-validation.js";

function rejects(tick: Tick, message: RegExp): void {
  assert.throws(() => validateTick(tick, 3), (error: unknown) => {
    assert.ok(error instanceof InvalidTickError, `expected InvalidTickError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("validateTick", () => {
  it("accepts a full tick and a price-only tick", () => {
    validateTick({ symbolId: 13, ltp: 24350.05, volume: 0, bid: 0, ask: 24350.1, bidSize: 25, askSize: 50 }, 0);
    validateTick({ symbolId: 0xffffffff, ltp: 0.05 }, 0);
  });

  it("rejects a symbol id that is zero, negative, fractional or beyond uint32, naming its position", () => {
    rejects({ symbolId: 0, ltp: 1 }, /^ticks\[3\]\.symbol_id .* got 0$/);
    rejects({ symbolId: -1, ltp: 1 }, /symbol_id/);
    rejects({ symbolId: 1.5, ltp: 1 }, /symbol_id/);
    rejects({ symbolId: 2 ** 32, ltp: 1 }, /symbol_id/);
  });

  it("rejects a price that is not positive and finite", () => {
    for (const ltp of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) rejects({ symbolId: 1, ltp }, /ticks\[3\]\.ltp/);
  });

  it("rejects a negative or non-finite bid or ask", () => {
    rejects({ symbolId: 1, ltp: 1, bid: -0.05 }, /ticks\[3\]\.bid /);
    rejects({ symbolId: 1, ltp: 1, ask: Number.NaN }, /ticks\[3\]\.ask /);
  });

  it("rejects quantities that are negative, fractional or past 2^53", () => {
    rejects({ symbolId: 1, ltp: 1, volume: -1 }, /ticks\[3\]\.volume/);
    rejects({ symbolId: 1, ltp: 1, bidSize: 0.5 }, /ticks\[3\]\.bidSize/);
    rejects({ symbolId: 1, ltp: 1, askSize: 2 ** 53 }, /ticks\[3\]\.askSize/);
  });

  it("accepts a book of up to five levels a side, empty levels included", () => {
    const level = (price: number) => ({ price, quantity: 25, orders: 1 });
    validateTick(
      {
        symbolId: 1,
        ltp: 100,
        depth: { bids: [100, 99.95, 99.9, 99.85, 99.8].map(level), asks: [{ price: 0, quantity: 0, orders: 0 }] },
      },
      0,
    );
  });

  it("rejects a book side of more than five levels", () => {
    const levels = Array.from({ length: 6 }, (_, i) => ({ price: 100 + i, quantity: 1, orders: 1 }));
    rejects({ symbolId: 1, ltp: 1, depth: { bids: [], asks: levels } }, /^ticks\[3\]\.depth\.asks holds 6 levels, at most 5 are allowed$/);
  });

  it("rejects a book level whose price, quantity or order count is out of range, naming the level", () => {
    const depth = (level: { price: number; quantity: number; orders: number }) => ({
      bids: [{ price: 10, quantity: 1, orders: 1 }, level],
      asks: [],
    });
    for (const price of [-0.05, Number.NaN, Number.POSITIVE_INFINITY]) {
      rejects({ symbolId: 1, ltp: 1, depth: depth({ price, quantity: 1, orders: 1 }) }, /^ticks\[3\]\.depth\.bids\[1\]\.price /);
    }
    for (const quantity of [-1, 0.5, 2 ** 53]) {
      rejects({ symbolId: 1, ltp: 1, depth: depth({ price: 1, quantity, orders: 1 }) }, /^ticks\[3\]\.depth\.bids\[1\]\.quantity /);
    }
    for (const orders of [-1, 1.5, 2 ** 32]) {
      rejects({ symbolId: 1, ltp: 1, depth: depth({ price: 1, quantity: 1, orders }) }, /^ticks\[3\]\.depth\.bids\[1\]\.orders /);
    }
  });
});
