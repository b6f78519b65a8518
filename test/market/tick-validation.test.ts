import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidTickError, SymbolRightsError } from "../../src/market/errors.js";
import { foldTick, type Tick } from "../../src/market/snapshot.js";
import { admitTick, validateTick } from "../../src/market/tick-validation.js";

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

describe("validateTick's plausibility checks", () => {
  const NOW = Date.UTC(2026, 5, 1, 9, 15);

  it("rejects a crossed quote, set directly or by the book's top levels, and takes a locked or one-sided one", () => {
    rejects({ symbolId: 1, ltp: 100, bid: 100.1, ask: 100 }, /^ticks\[3\]\.bid 100\.1 is above ticks\[3\]\.ask 100: a crossed quote$/);
    const level = (price: number) => ({ price, quantity: 1, orders: 1 });
    rejects({ symbolId: 1, ltp: 100, depth: { bids: [level(101)], asks: [level(100)] } }, /^ticks\[3\]\.depth is crossed/);
    validateTick({ symbolId: 1, ltp: 100, bid: 100, ask: 100 }, 0);
    validateTick({ symbolId: 1, ltp: 100, bid: 100, ask: 0 }, 0);
  });

  it("rejects an exchange_time outside the window around the clock, and not when the window is 0", () => {
    const policy = { timeWindowMs: 60_000 };
    assert.throws(() => validateTick({ symbolId: 1, ltp: 1, exchangeTimeMs: NOW + 60_001 }, 2, policy, NOW), /^InvalidTickError: ticks\[2\]\.exchange_time 2026-06-01T09:16:00\.001Z is more than 60000 ms from the gateway's clock/);
    assert.throws(() => validateTick({ symbolId: 1, ltp: 1, exchangeTimeMs: -62_135_596_800_000 }, 0, policy, NOW), /exchange_time 0001-01-01/);
    validateTick({ symbolId: 1, ltp: 1, exchangeTimeMs: NOW - 60_000 }, 0, policy, NOW);
    validateTick({ symbolId: 1, ltp: 1, exchangeTimeMs: 0 }, 0, { timeWindowMs: 0 }, NOW);
  });
});

describe("admitTick", () => {
  const NOW = Date.UTC(2026, 5, 1, 9, 15);
  const admin = { manageSymbols: true };
  const writer = { manageSymbols: false };
  const previous = foldTick(undefined, { symbolId: 13, symbol: "NIFTY 50", ltp: 1000, exchangeTimeMs: NOW }, NOW);

  function refuses(tick: Tick, rights: { manageSymbols: boolean }, error: new (message: string) => Error, message: RegExp, policy = {}) {
    assert.throws(() => admitTick(previous, tick, 4, rights, policy), (thrown: unknown) => {
      assert.ok(thrown instanceof error, `expected ${error.name}, got ${String(thrown)}`);
      assert.match((thrown as Error).message, message);
      return true;
    });
  }

  it("keeps every price within the band around the previous close, the edges included", () => {
    admitTick(previous, { symbolId: 13, ltp: 800, bid: 1199.95, ask: 1200 }, 0, writer);
    refuses({ symbolId: 13, ltp: 1200.05 }, writer, InvalidTickError, /^ticks\[4\]\.ltp 1200\.05 is outside the 20% band around the previous close 1000 \(800 to 1200\)$/);
    refuses({ symbolId: 13, ltp: 1000, bid: 799 }, writer, InvalidTickError, /^ticks\[4\]\.bid 799 /);
    refuses({ symbolId: 13, ltp: 1000, depth: { bids: [], asks: [{ price: 1000, quantity: 1, orders: 1 }, { price: 1e308, quantity: 1, orders: 1 }] } }, writer, InvalidTickError, /^ticks\[4\]\.depth\.asks\[1\]\.price /);
    refuses({ symbolId: 13, ltp: 1060 }, writer, InvalidTickError, /5% band/, { priceBandPercent: 5 });
    admitTick(previous, { symbolId: 13, ltp: 1e9 }, 0, writer, { priceBandPercent: 0 });
  });

  it("refuses an exchange_time before the snapshot's and takes an equal one, or any with the time checks off", () => {
    admitTick(previous, { symbolId: 13, ltp: 1000, exchangeTimeMs: NOW }, 0, writer);
    refuses({ symbolId: 13, ltp: 1000, exchangeTimeMs: NOW - 1 }, writer, InvalidTickError, /^ticks\[4\]\.exchange_time 2026-06-01T09:14:59\.999Z goes back from the symbol's 2026-06-01T09:15:00\.000Z$/);
    admitTick(previous, { symbolId: 13, ltp: 1000, exchangeTimeMs: 0 }, 0, writer, { timeWindowMs: 0 });
  });

  it("lets only a producer with the right create or rename a symbol, and never without a name", () => {
    assert.throws(() => admitTick(undefined, { symbolId: 99, symbol: "NEW", ltp: 1 }, 4, writer), SymbolRightsError);
    admitTick(undefined, { symbolId: 99, symbol: "NEW", ltp: 1 }, 0, admin);
    assert.throws(() => admitTick(undefined, { symbolId: 99, ltp: 1 }, 4, admin), /^InvalidTickError: ticks\[4\]\.symbol must name the new symbol 99$/);
    assert.throws(() => admitTick(undefined, { symbolId: 99, symbol: " ", ltp: 1 }, 4, admin), InvalidTickError);
    refuses({ symbolId: 13, symbol: "NIFTY", ltp: 1000 }, writer, SymbolRightsError, /^ticks\[4\] would rename symbol 13 from "NIFTY 50"$/);
    admitTick(previous, { symbolId: 13, symbol: "NIFTY", ltp: 1000 }, 0, admin);
    admitTick(previous, { symbolId: 13, symbol: "NIFTY 50", ltp: 1000 }, 0, writer);
  });
});
