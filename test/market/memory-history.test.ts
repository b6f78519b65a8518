import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CandleInterval } from "../../src/market/candle-interval.js";
import type { Candle, TickRecord } from "../../src/market/history-store.js";
import { MemoryHistoryStore } from "../../src/market/memory-history.js";

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const DAY = Date.UTC(2026, 11, 1);

function rec(sequence: number, timeMs: number, price: number, quantity: number, symbolId = 13): TickRecord {
  return { symbolId, sequence, timeMs, price, quantity, bid: price - 1, ask: price + 1, bidSize: 3, askSize: 4 };
}

// Hand-made ticks: three in the first second, one on the next second's
// edge, one on the last millisecond of the minute, one on the next
// minute's edge, none in the third minute, a quote in the fourth, and one
// opening the second 5m bar.
const TICKS: readonly TickRecord[] = [
  rec(1, T0, 100, 10),
  rec(2, T0 + 500, 105, 5),
  rec(3, T0 + 999, 98, 1),
  rec(4, T0 + 1_000, 99, 2),
  rec(5, T0 + 59_999, 110, 3),
  rec(6, T0 + 60_000, 90, 4),
  rec(7, T0 + 180_000, 95, 0),
  rec(8, T0 + 300_000, 97, 6),
];

type Row = [number, number, number, number, number, number, number, number];
function rows(candles: readonly Candle[]): Row[] {
  return candles.map((c) => [c.startMs, c.open, c.high, c.low, c.close, c.volume, c.tickCount, c.lastSequence]);
}

function query(interval: CandleInterval, extra: { startMs?: number; endMs?: number; limit?: number; afterStartMs?: number } = {}) {
  return { symbolId: 13, interval, startMs: extra.startMs ?? DAY, endMs: extra.endMs ?? DAY + 86_400_000, limit: extra.limit ?? 1000, afterStartMs: extra.afterStartMs };
}

async function seeded(options = {}): Promise<MemoryHistoryStore> {
  const store = new MemoryHistoryStore(options);
  await store.append(TICKS);
  return store;
}

describe("MemoryHistoryStore", () => {
  it("folds ticks into exact OHLCV bars at every interval, with no bar for an empty bucket", async () => {
    const store = await seeded();
    assert.deepEqual(rows(await store.candles(query("1s"))), [
      [T0, 100, 105, 98, 98, 16, 3, 3],
      [T0 + 1_000, 99, 99, 99, 99, 2, 1, 4],
      [T0 + 59_000, 110, 110, 110, 110, 3, 1, 5],
      [T0 + 60_000, 90, 90, 90, 90, 4, 1, 6],
      [T0 + 180_000, 95, 95, 95, 95, 0, 1, 7],
      [T0 + 300_000, 97, 97, 97, 97, 6, 1, 8],
    ]);
    assert.deepEqual(rows(await store.candles(query("1m"))), [
      [T0, 100, 110, 98, 110, 21, 5, 5],
      [T0 + 60_000, 90, 90, 90, 90, 4, 1, 6],
      [T0 + 180_000, 95, 95, 95, 95, 0, 1, 7],
      [T0 + 300_000, 97, 97, 97, 97, 6, 1, 8],
    ]);
    const fiveMinutes = await store.candles(query("5m"));
    assert.deepEqual(rows(fiveMinutes), [
      [T0, 100, 110, 90, 95, 25, 7, 7],
      [T0 + 300_000, 97, 97, 97, 97, 6, 1, 8],
    ]);
    assert.ok(fiveMinutes.every((c) => c.interval === "5m" && c.symbolId === 13));
    assert.deepEqual(rows(await store.candles(query("15m"))), [[T0, 100, 110, 90, 97, 31, 8, 8]]);
    assert.deepEqual(rows(await store.candles(query("1h"))), [[T0, 100, 110, 90, 97, 31, 8, 8]]);
    assert.deepEqual(rows(await store.candles(query("1d"))), [[DAY, 100, 110, 90, 97, 31, 8, 8]]);
  });

  it("returns bars whose start lies in [startMs, endMs), a page at a time", async () => {
    const store = await seeded();
    const starts = async (interval: CandleInterval, extra: Parameters<typeof query>[1]) =>
      (await store.candles(query(interval, extra))).map((c) => c.startMs - T0);
    assert.deepEqual(await starts("1m", { startMs: T0 + 1 }), [60_000, 180_000, 300_000]);
    assert.deepEqual(await starts("1m", { startMs: T0, endMs: T0 + 180_000 }), [0, 60_000]);
    assert.deepEqual(await starts("5m", { startMs: T0 + 1 }), [300_000]);
    assert.deepEqual(await starts("1s", { startMs: T0 + 1, endMs: T0 + 60_000 }), [1_000, 59_000]);
    assert.deepEqual(await starts("1m", { limit: 2 }), [0, 60_000]);
    assert.deepEqual(await starts("1m", { limit: 2, afterStartMs: T0 + 60_000 }), [180_000, 300_000]);
    assert.deepEqual(await starts("5m", { limit: 1 }), [0]);
    assert.deepEqual(await starts("5m", { limit: 1, afterStartMs: T0 }), [300_000]);
    assert.deepEqual(await starts("1s", { limit: 2, afterStartMs: T0 }), [1_000, 59_000]);
    assert.deepEqual(await starts("1m", { afterStartMs: T0 + 300_000 }), []);
    assert.deepEqual(await store.candles({ ...query("1m"), symbolId: 99 }), []);
  });

  it("returns ticks in [startMs, endMs) in sequence order, a page at a time", async () => {
    const store = await seeded();
    const page = async (afterSequence: number | undefined, limit: number) =>
      (await store.ticks({ symbolId: 13, startMs: T0 + 1_000, endMs: T0 + 180_001, limit, afterSequence })).map((r) => r.sequence);
    assert.deepEqual(await page(undefined, 10), [4, 5, 6, 7]);
    assert.deepEqual(await page(undefined, 2), [4, 5]);
    assert.deepEqual(await page(5, 2), [6, 7]);
    assert.deepEqual(await page(7, 2), []);
    const [first] = await store.ticks({ symbolId: 13, startMs: T0, endMs: T0 + 1, limit: 1 });
    assert.deepEqual(first, TICKS[0]);
  });

  it("keeps one copy of a tick appended twice, and of a tick the symbol has passed", async () => {
    const store = await seeded();
    await store.append(TICKS);
    await store.append([rec(3, T0 + 999, 1, 1000), rec(9, T0 + 300_001, 96, 1)]);
    await store.append([rec(9, T0 + 300_001, 96, 1)]);
    assert.deepEqual(rows(await store.candles(query("5m"))), [
      [T0, 100, 110, 90, 95, 25, 7, 7],
      [T0 + 300_000, 97, 97, 96, 96, 7, 2, 9],
    ]);
    assert.equal((await store.ticks({ symbolId: 13, startMs: 0, endMs: T0 + DAY, limit: 100 })).length, 9);
  });

  it("keeps symbols apart", async () => {
    const store = await seeded();
    await store.append([rec(1, T0, 500, 1, 25)]);
    assert.deepEqual(rows(await store.candles({ ...query("1h"), symbolId: 25 })), [[T0, 500, 500, 500, 500, 1, 1, 1]]);
    assert.equal((await store.candles(query("1h")))[0]!.volume, 31);
  });

  it("keeps the last ticksPerSymbol ticks, and 1s bars only of them", async () => {
    const store = await seeded({ ticksPerSymbol: 3 });
    const kept = await store.ticks({ symbolId: 13, startMs: 0, endMs: T0 + DAY, limit: 100 });
    assert.deepEqual(kept.map((r) => r.sequence), [6, 7, 8]);
    assert.deepEqual((await store.candles(query("1s"))).map((c) => c.lastSequence), [6, 7, 8]);
    // Minute bars are kept apart from the ticks.
    assert.equal((await store.candles(query("1m"))).length, 4);
  });

  it("keeps 1m bars for the last days, dropping older ones as new minutes arrive", async () => {
    const store = await seeded({ days: 1 });
    // One day after the second minute: the first two minutes leave the window.
    await store.append([rec(9, T0 + 86_400_000 + 60_000, 100, 1)]);
    const all = { startMs: 0, endMs: T0 + 2 * 86_400_000 };
    assert.deepEqual((await store.candles(query("1m", all))).map((c) => c.startMs - T0), [180_000, 300_000, 86_460_000]);
    // A tick dated before the window still counts among the ticks but not in bars.
    await store.append([rec(10, T0, 100, 1)]);
    assert.equal((await store.candles(query("1m", all))).length, 3);
    assert.equal((await store.ticks({ symbolId: 13, ...all, limit: 100 })).length, 10);
  });

  it("folds a tick whose exchange time went back into its own bar, closing it by sequence", async () => {
    const store = await seeded();
    await store.append([rec(9, T0 + 30_000, 120, 1)]);
    assert.deepEqual(rows(await store.candles(query("1m", { endMs: T0 + 60_000 }))), [[T0, 100, 120, 98, 120, 22, 6, 9]]);
    assert.deepEqual(rows(await store.candles(query("1s", { startMs: T0 + 30_000, endMs: T0 + 31_000 }))), [
      [T0 + 30_000, 120, 120, 120, 120, 1, 1, 9],
    ]);
    const later = await store.ticks({ symbolId: 13, startMs: T0 + 200_000, endMs: T0 + DAY, limit: 10 });
    assert.deepEqual(later.map((r) => r.sequence), [8]);
  });

  it("answers a full day of 1m bars", async () => {
    const store = new MemoryHistoryStore();
    const records: TickRecord[] = [];
    for (let i = 0; i < 1_440 * 4; i++) records.push(rec(i + 1, DAY + i * 15_000, 100 + (i % 7), 1));
    await store.append(records);
    const bars = await store.candles({ ...query("1m"), limit: 1_440 });
    assert.equal(bars.length, 1_440);
    assert.ok(bars.every((c, i) => c.startMs === DAY + i * 60_000 && c.tickCount === 4 && c.volume === 4));
    assert.deepEqual(rows(await store.candles(query("1d"))), [[DAY, 100, 106, 100, 100 + (5_759 % 7), 5_760, 5_760, 5_760]]);
  });

  it("is always healthy and refuses a window it cannot keep", async () => {
    const store = new MemoryHistoryStore();
    assert.equal(store.healthy, true);
    store.onHealthChange(() => assert.fail("memory never changes health"))();
    assert.throws(() => new MemoryHistoryStore({ ticksPerSymbol: 0 }), /ticksPerSymbol/);
    assert.throws(() => new MemoryHistoryStore({ days: 0 }), /days/);
    await store.close();
  });
});
