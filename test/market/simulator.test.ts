import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultUniverse, FIRST_SYNTHETIC_ID, INDEX_SYMBOLS } from "../../src/market/default-universe.js";
import type { Tick } from "../../src/market/snapshot.js";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { MarketSimulator } from "../../src/market/simulator.js";
import { validateTick } from "../../src/market/tick-validation.js";

/** A fixed pseudo-random sequence (mulberry32), so runs repeat exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function recordingSimulator(options: { ticksPerSecond?: number; synthetic?: number; seed?: number } = {}) {
  const batches: Tick[][] = [];
  const simulator = new MarketSimulator(
    (ticks) => {
      batches.push(ticks);
      return Promise.resolve();
    },
    { symbols: defaultUniverse(options.synthetic ?? 10), ticksPerSecond: options.ticksPerSecond, random: seeded(options.seed ?? 1) },
  );
  return { simulator, batches };
}

describe("defaultUniverse", () => {
  it("holds NIFTY 50, BANK NIFTY and FIN NIFTY first, then the synthetic symbols", () => {
    const universe = defaultUniverse(3);
    assert.deepEqual(universe.map((s) => s.symbolId), [13, 25, 27, FIRST_SYNTHETIC_ID, FIRST_SYNTHETIC_ID + 1, FIRST_SYNTHETIC_ID + 2]);
    assert.deepEqual(universe.slice(0, 3), INDEX_SYMBOLS);
    assert.equal(universe[3]?.symbol, `SYN${FIRST_SYNTHETIC_ID}`);
    assert.deepEqual(defaultUniverse(0), INDEX_SYMBOLS);
  });

  it("gives the same symbols the same prices on every call", () => {
    assert.deepEqual(defaultUniverse(50), defaultUniverse(50));
    for (const s of defaultUniverse(200).slice(INDEX_SYMBOLS.length)) assert.ok(s.basePrice >= 50 && s.basePrice <= 5000, `${s.symbol} at ${s.basePrice}`);
  });
});

describe("MarketSimulator", () => {
  it("seeds every symbol at its base price when started", async () => {
    const { simulator, batches } = recordingSimulator({ synthetic: 5 });
    await simulator.start();
    simulator.stop();
    assert.equal(batches.length, 1);
    const universe = defaultUniverse(5);
    assert.deepEqual(batches[0]!.map((t) => [t.symbolId, t.symbol, t.ltp]), universe.map((s) => [s.symbolId, s.symbol, s.basePrice]));
  });

  it("sends ticks at the configured rate, carrying fractions across intervals", async () => {
    // 25 ticks a second is 2.5 per 100 ms interval: 2, 3, 2, 3, ...
    const { simulator, batches } = recordingSimulator({ ticksPerSecond: 25 });
    for (let i = 0; i < 10; i++) await simulator.step();
    assert.deepEqual(batches.map((b) => b.length), [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]);
    // 1 tick a second: one batch every tenth interval, nothing in between.
    const slow = recordingSimulator({ ticksPerSecond: 1 });
    for (let i = 0; i < 20; i++) await slow.simulator.step();
    assert.deepEqual(slow.batches.map((b) => b.length), [1, 1]);
  });

  it("makes valid, believable ticks: small moves on the tick grid, bid below ask", async () => {
    const { simulator, batches } = recordingSimulator({ ticksPerSecond: 1000, seed: 7 });
    await simulator.start();
    simulator.stop();
    const last = new Map(batches[0]!.map((t) => [t.symbolId, t.ltp]));
    for (let i = 0; i < 20; i++) await simulator.step();
    const ticks = batches.slice(1).flat();
    assert.equal(ticks.length, 2000);
    ticks.forEach((tick, i) => {
      validateTick(tick, i);
      const previous = last.get(tick.symbolId)!;
      // At most 2 basis points per tick, plus rounding to the grid.
      assert.ok(Math.abs(tick.ltp - previous) <= previous * 0.0002 + 0.05, `${tick.symbolId}: ${previous} -> ${tick.ltp}`);
      assert.ok(Math.abs(tick.ltp * 20 - Math.round(tick.ltp * 20)) < 1e-6, `${tick.ltp} is off the 0.05 grid`);
      assert.ok(tick.bid! < tick.ask!, `bid ${tick.bid} >= ask ${tick.ask}`);
      assert.ok(tick.volume! > 0);
      last.set(tick.symbolId, tick.ltp);
    });
    const counts = new Map<number, number>();
    for (const t of ticks) counts.set(t.symbolId, (counts.get(t.symbolId) ?? 0) + 1);
    // Indices trade more than the last synthetic symbol.
    assert.ok((counts.get(13) ?? 0) > (counts.get(FIRST_SYNTHETIC_ID + 9) ?? 0));
    // NIFTY 50 actually moves.
    assert.ok(new Set(ticks.filter((t) => t.symbolId === 13).map((t) => t.ltp)).size > 1);
  });

  it("sends a five-level book on the tick grid behind every quote: bids falling, asks rising, sizes in lots", async () => {
    const { simulator, batches } = recordingSimulator({ ticksPerSecond: 200, seed: 11 });
    await simulator.start();
    simulator.stop();
    for (let i = 0; i < 5; i++) await simulator.step();
    const ticks = batches.flat();
    assert.ok(ticks.length > 100);
    for (const tick of ticks) {
      const { bids, asks } = tick.depth!;
      assert.equal(bids.length, 5);
      assert.equal(asks.length, 5);
      assert.deepEqual([bids[0]!.price, bids[0]!.quantity, asks[0]!.price, asks[0]!.quantity], [tick.bid, tick.bidSize, tick.ask, tick.askSize]);
      for (const side of [bids, asks]) {
        for (const level of side) {
          assert.ok(Math.abs(level.price * 20 - Math.round(level.price * 20)) < 1e-6, `${level.price} is off the 0.05 grid`);
          assert.equal(level.quantity % 25, 0);
          assert.ok(level.orders >= 1 && level.orders * 25 <= level.quantity, `${level.orders} orders for ${level.quantity}`);
        }
      }
      for (let i = 1; i < 5; i++) {
        assert.ok(bids[i]!.price < bids[i - 1]!.price && bids[i - 1]!.price - bids[i]!.price <= 0.1 + 1e-9);
        assert.ok(asks[i]!.price > asks[i - 1]!.price && asks[i]!.price - asks[i - 1]!.price <= 0.1 + 1e-9);
      }
    }
  });

  it("keeps ticking after the store fails a write", async () => {
    let calls = 0;
    const simulator = new MarketSimulator(
      () => {
        calls++;
        return Promise.reject(new Error("store down"));
      },
      { symbols: defaultUniverse(0), ticksPerSecond: 10, random: seeded(3) },
    );
    await simulator.step();
    await simulator.step();
    assert.equal(calls, 2);
  });

  it("ticks on its own timer once started, until stopped", async () => {
    const { simulator, batches } = recordingSimulator({ ticksPerSecond: 100 });
    await simulator.start();
    const deadline = Date.now() + 5000;
    while (batches.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    simulator.stop();
    assert.ok(batches.length >= 3, `only ${batches.length} batches`);
    const stoppedAt = batches.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(batches.length, stoppedAt);
  });

  it("stays inside the market's price band over 400,000 ticks, so a market with a tick policy refuses none of them", async () => {
    const market = new Market(new MemorySnapshotStore(), {}, { tickPolicy: { priceBandPercent: 4 } });
    const refusals: string[] = [];
    const simulator = new MarketSimulator(
      (ticks) =>
        market.ingest(ticks).catch((error: Error) => {
          refusals.push(error.message);
        }),
      { symbols: defaultUniverse(10), ticksPerSecond: 1_000_000, random: seeded(7), maxMovePercent: 2 },
    );
    await simulator.start();
    simulator.stop();
    for (let i = 0; i < 4; i++) await simulator.step();
    assert.deepEqual(refusals.slice(0, 3), []);
    const nifty = (await market.get(13))!;
    assert.ok(nifty.sequence > 50_000, `NIFTY 50 ticked ${nifty.sequence} times`);
    // Left alone, the walk's spread after this many ticks is several percent.
    assert.ok(nifty.high > nifty.close * 1.015 || nifty.low < nifty.close * 0.985, "the walk reached the edge");
    await market.close();
  });
});
