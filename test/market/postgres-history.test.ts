import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres, { type Sql } from "postgres";
import type { CandleInterval } from "../../src/market/candle-interval.js";
import { StoreUnavailableError } from "../../src/market/errors.js";
import type { Candle, TickRecord } from "../../src/market/history-store.js";
import { createPostgresHistoryStore, type PostgresHistoryStore } from "../../src/market/postgres-history.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

const DAY = 86_400_000;
const D = Date.UTC(2026, 0, 15);
const at = (hh: number, mm: number, ss: number, ms = 0) => D + ((hh * 60 + mm) * 60 + ss) * 1000 + ms;

function tick(symbolId: number, sequence: number, timeMs: number, price: number, quantity: number): TickRecord {
  return { symbolId, sequence, timeMs, price, quantity, bid: price - 0.5, ask: price + 0.5, bidSize: 10, askSize: 20 };
}

function bar(interval: CandleInterval, startMs: number, o: number, h: number, l: number, c: number, volume: number, tickCount: number, lastSequence: number): Candle {
  return { symbolId: 1, interval, startMs, open: o, high: h, low: l, close: c, volume, tickCount, lastSequence };
}

// Symbol 1's ticks, hand-placed on bucket edges: each pair across an edge is 1 ms apart.
const TICKS: readonly TickRecord[] = [
  tick(1, 1, at(10, 0, 0), 10, 1),
  tick(1, 2, at(10, 0, 0, 500), 12, 2),
  tick(1, 3, at(10, 0, 0, 999), 9, 3),
  tick(1, 4, at(10, 0, 1), 11, 4),
  tick(1, 5, at(10, 0, 59, 999), 15, 5),
  tick(1, 6, at(10, 1, 0), 8, 6),
  tick(1, 7, at(10, 4, 59, 999), 7, 1),
  tick(1, 8, at(10, 5, 0), 20, 2),
  tick(1, 9, at(12, 0, 0), 30, 1),
  tick(1, 10, at(23, 59, 59, 999), 35, 1),
  tick(1, 11, D + DAY, 40, 1),
];
// Another symbol at the same moments, which no query of symbol 1 may see.
const OTHER: readonly TickRecord[] = [tick(2, 1, at(10, 0, 0), 1000, 100), tick(2, 2, at(10, 0, 30), 1001, 100)];

describe("PostgresHistoryStore", () => {
  let server: TestPostgres;
  let admin: Sql;
  const stores: PostgresHistoryStore[] = [];
  const clients: Sql[] = [];

  before(async () => {
    server = await startPostgres();
    admin = postgres(server.url, { max: 1, onnotice: () => undefined });
  });
  after(async () => {
    for (const store of stores) await store.close();
    for (const sql of clients) await sql.end();
    await admin.end();
    await server.stop();
  });

  async function freshDatabase(name: string): Promise<string> {
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    return url.toString();
  }
  async function open(url: string, retentionDays = 0): Promise<PostgresHistoryStore> {
    const store = await createPostgresHistoryStore({ url, retentionDays });
    stores.push(store);
    return store;
  }
  function client(url: string): Sql {
    const sql = postgres(url, { max: 1, onnotice: () => undefined });
    clients.push(sql);
    return sql;
  }
  const range = { symbolId: 1, startMs: D, endMs: D + 2 * DAY, limit: 1000 };

  describe("ticks in, candles out", () => {
    let store: PostgresHistoryStore;
    before(async () => {
      store = await open(await freshDatabase("candles_db"));
      // Out of order across and within batches: open and close follow sequence, not arrival.
      await store.append([TICKS[4]!, TICKS[0]!, TICKS[8]!, TICKS[2]!, OTHER[1]!]);
      await store.append([...TICKS].reverse().filter((t) => ![1, 3, 5, 9].includes(t.sequence)).concat(OTHER[0]!));
    });

    it("folds 1s bars from the ticks, a tick at a bucket's start in it and one 1 ms earlier in the previous", async () => {
      assert.deepEqual(await store.candles({ ...range, interval: "1s" }), [
        bar("1s", at(10, 0, 0), 10, 12, 9, 9, 6, 3, 3),
        bar("1s", at(10, 0, 1), 11, 11, 11, 11, 4, 1, 4),
        bar("1s", at(10, 0, 59), 15, 15, 15, 15, 5, 1, 5),
        bar("1s", at(10, 1, 0), 8, 8, 8, 8, 6, 1, 6),
        bar("1s", at(10, 4, 59), 7, 7, 7, 7, 1, 1, 7),
        bar("1s", at(10, 5, 0), 20, 20, 20, 20, 2, 1, 8),
        bar("1s", at(12, 0, 0), 30, 30, 30, 30, 1, 1, 9),
        bar("1s", at(23, 59, 59), 35, 35, 35, 35, 1, 1, 10),
        bar("1s", D + DAY, 40, 40, 40, 40, 1, 1, 11),
      ]);
    });

    it("keeps 1m bars, with no bar for a minute without ticks", async () => {
      assert.deepEqual(await store.candles({ ...range, interval: "1m" }), [
        bar("1m", at(10, 0, 0), 10, 15, 9, 15, 15, 5, 5),
        bar("1m", at(10, 1, 0), 8, 8, 8, 8, 6, 1, 6),
        bar("1m", at(10, 4, 0), 7, 7, 7, 7, 1, 1, 7),
        bar("1m", at(10, 5, 0), 20, 20, 20, 20, 2, 1, 8),
        bar("1m", at(12, 0, 0), 30, 30, 30, 30, 1, 1, 9),
        bar("1m", at(23, 59, 0), 35, 35, 35, 35, 1, 1, 10),
        bar("1m", D + DAY, 40, 40, 40, 40, 1, 1, 11),
      ]);
    });

    it("aggregates 5m and 1d bars from the minutes", async () => {
      assert.deepEqual(await store.candles({ ...range, interval: "5m" }), [
        bar("5m", at(10, 0, 0), 10, 15, 7, 7, 22, 7, 7),
        bar("5m", at(10, 5, 0), 20, 20, 20, 20, 2, 1, 8),
        bar("5m", at(12, 0, 0), 30, 30, 30, 30, 1, 1, 9),
        bar("5m", at(23, 55, 0), 35, 35, 35, 35, 1, 1, 10),
        bar("5m", D + DAY, 40, 40, 40, 40, 1, 1, 11),
      ]);
      assert.deepEqual(await store.candles({ ...range, interval: "1d" }), [
        bar("1d", D, 10, 35, 7, 35, 26, 10, 10),
        bar("1d", D + DAY, 40, 40, 40, 40, 1, 1, 11),
      ]);
      const [hour] = await store.candles({ ...range, interval: "1h" });
      assert.deepEqual(hour, bar("1h", at(10, 0, 0), 10, 20, 7, 20, 24, 8, 8));
    });

    it("returns the bars whose start lies in [start, end)", async () => {
      const seconds = await store.candles({ ...range, interval: "1s", startMs: at(10, 0, 0, 1), endMs: at(10, 1, 0) });
      assert.deepEqual(seconds.map((c) => c.startMs), [at(10, 0, 1), at(10, 0, 59)]);
      const minutes = await store.candles({ ...range, interval: "1m", startMs: at(10, 0, 0), endMs: at(10, 5, 0) });
      assert.deepEqual(minutes.map((c) => c.startMs), [at(10, 0, 0), at(10, 1, 0), at(10, 4, 0)]);
      // A 5m bar starting before start is left out whole, even though some of its minutes are inside.
      const fives = await store.candles({ ...range, interval: "5m", startMs: at(10, 1, 0), endMs: at(10, 5, 1) });
      assert.deepEqual(fives.map((c) => c.startMs), [at(10, 5, 0)]);
    });

    it("pages candles by the start of the last bar", async () => {
      const pages: number[][] = [];
      let afterStartMs: number | undefined;
      for (;;) {
        const page = await store.candles({ ...range, interval: "1s", limit: 4, afterStartMs });
        if (page.length === 0) break;
        pages.push(page.map((c) => c.startMs));
        afterStartMs = page.at(-1)!.startMs;
      }
      assert.deepEqual(pages.map((p) => p.length), [4, 4, 1]);
      const all = await store.candles({ ...range, interval: "1s" });
      assert.deepEqual(pages.flat(), all.map((c) => c.startMs));
    });

    it("pages ticks in sequence order within the time range", async () => {
      const pages: number[][] = [];
      let afterSequence: number | undefined;
      for (;;) {
        const page = await store.ticks({ ...range, startMs: at(10, 0, 0, 500), endMs: D + DAY, limit: 3, afterSequence });
        if (page.length === 0) break;
        pages.push(page.map((t) => t.sequence));
        afterSequence = page.at(-1)!.sequence;
      }
      assert.deepEqual(pages, [[2, 3, 4], [5, 6, 7], [8, 9, 10]]);
      const [first] = await store.ticks({ ...range, limit: 1 });
      assert.deepEqual(first, TICKS[0], "a tick comes back as it went in");
    });
  });

  describe("exactly once", () => {
    it("keeps one row and counts once when the same batch is appended twice", async () => {
      const store = await open(await freshDatabase("twice_db"));
      await store.append(TICKS);
      await store.append(TICKS);
      await store.append(TICKS.slice(3, 6));
      assert.equal((await store.ticks({ ...range, limit: 100 })).length, TICKS.length);
      const [day] = await store.candles({ ...range, interval: "1d" });
      assert.deepEqual(day, bar("1d", D, 10, 35, 7, 35, 26, 10, 10));
    });

    it("writes each tick once when two stores append overlapping batches at the same time", async () => {
      const url = await freshDatabase("replicas_db");
      const [a, b] = [await open(url), await open(url)];
      const records: TickRecord[] = [];
      for (let i = 1; i <= 6_000; i++) records.push(tick(1 + (i % 5), i, at(9, 0, 0) + i * 50, 100 + (i % 13), 1 + (i % 3)));
      const batches = (from: number, to: number) => {
        const out: TickRecord[][] = [];
        for (let i = from; i < to; i += 500) out.push(records.slice(i, i + 500));
        return out;
      };
      // Replica a writes the first two thirds, replica b the last two: the middle third twice, at once.
      await Promise.all([
        (async () => {
          for (const batch of batches(0, 4_000)) await a.append(batch);
        })(),
        (async () => {
          for (const batch of batches(2_000, 6_000)) await b.append(batch);
        })(),
      ]);
      const sql = client(url);
      const [counts] = await sql<{ ticks: number; distinct_ticks: number; candle_ticks: number; volume: number }[]>`
        SELECT (SELECT count(*)::int FROM ticks) AS ticks,
          (SELECT count(DISTINCT (symbol_id, sequence))::int FROM ticks) AS distinct_ticks,
          (SELECT sum(tick_count)::int FROM candles_1m) AS candle_ticks,
          (SELECT sum(volume)::float8 FROM candles_1m) AS volume`;
      const volume = records.reduce((sum, r) => sum + r.quantity, 0);
      assert.deepEqual(counts, { ticks: 6_000, distinct_ticks: 6_000, candle_ticks: 6_000, volume });
    });
  });

  it("recreates its schema when the database is recreated empty behind it", async () => {
    const url = await freshDatabase("recreated_db");
    const store = await open(url);
    await store.append(TICKS.slice(0, 2));
    const sql = client(url);
    await sql`DROP TABLE ticks, candles_1m, schema_migrations`;
    await store.append(TICKS.slice(2, 4));
    assert.deepEqual((await store.ticks(range)).map((t) => t.sequence), [3, 4]);
  });

  it("drops a day's partition once it is older than the retention", async () => {
    const url = await freshDatabase("retention_db");
    const today = Math.floor(Date.now() / DAY) * DAY;
    const writer = await open(url, 3);
    const old = tick(1, 1, today - 10 * DAY + 1000, 5, 1);
    const kept = tick(1, 2, today - 2 * DAY + 1000, 6, 1);
    await writer.append([old, kept]);
    const sql = client(url);
    const partitions = async () =>
      (await sql<{ name: string }[]>`SELECT relname AS name FROM pg_inherits JOIN pg_class ON oid = inhrelid ORDER BY 1`).map((r) => r.name);
    const oldName = `ticks_${new Date(old.timeMs).toISOString().slice(0, 10).replaceAll("-", "")}`;
    assert.ok((await partitions()).includes(oldName));

    // A store starting up applies the retention, as the hourly check does.
    const restarted = await open(url, 3);
    assert.ok(!(await partitions()).includes(oldName), "the old day's partition is gone");
    const all = { symbolId: 1, startMs: today - 30 * DAY, endMs: today + DAY, limit: 10 };
    assert.deepEqual(await restarted.ticks(all), [kept]);
    assert.deepEqual((await restarted.candles({ ...all, interval: "1d" })).map((c) => c.lastSequence), [2]);
    assert.deepEqual(await restarted.enforceRetention(), [], "nothing left to drop");

    // A store that keeps running drops a day on its periodic check.
    const running = await createPostgresHistoryStore({ url, retentionDays: 3, retentionCheckMs: 100 });
    stores.push(running);
    // The append succeeding shows the partition was there: ticks has no default partition.
    await running.append([tick(1, 3, today - 9 * DAY, 7, 1)]);
    const gone = `ticks_${new Date(today - 9 * DAY).toISOString().slice(0, 10).replaceAll("-", "")}`;
    const deadline = Date.now() + 3_000;
    while ((await partitions()).includes(gone) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(!(await partitions()).includes(gone), "the periodic check dropped it");
  });

  it("gives up on a database that stops answering within its timeout, and starts afresh on new connections", async () => {
    const url = await freshDatabase("frozen_db");
    const proxy = await startTcpProxy(server.port);
    const through = new URL(url);
    through.port = new URL(proxy.baseUrl).port;
    const store = await createPostgresHistoryStore({ url: through.toString(), retentionDays: 0, probeMs: 100, timeoutMs: 500 });
    try {
      await store.append(TICKS.slice(0, 3));
      // The connections the store holds go silent, without a FIN or RST: only the timeout can tell.
      proxy.blackhole();
      const started = Date.now();
      await assert.rejects(store.append(TICKS.slice(3, 6)), StoreUnavailableError);
      const waited = Date.now() - started;
      assert.ok(waited >= 450 && waited < 1_500, `rejected after ${waited} ms, for a 500 ms timeout`);
      assert.equal(store.healthy, false);

      const deadline = Date.now() + 5_000;
      while (!store.healthy && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(store.healthy, true, "the probe's fresh connections reach the database");
      await store.append(TICKS.slice(3, 6));
      assert.deepEqual((await store.ticks(range)).map((t) => t.sequence), [1, 2, 3, 4, 5, 6]);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it("turns unhealthy when the database dies, rejects at once, and writes again once it is back", async () => {
    const database = await startPostgres();
    const store = await createPostgresHistoryStore({ url: database.url, retentionDays: 0, probeMs: 100, timeoutMs: 1_000, heartbeatMs: 200 });
    const changes: boolean[] = [];
    store.onHealthChange((healthy) => changes.push(healthy));
    try {
      assert.equal(store.healthy, true);
      await store.append(TICKS.slice(0, 3));

      await database.kill();
      // Nothing is asked of the store: its heartbeat alone notices, so readiness follows an idle outage too.
      const down = Date.now() + 2_000;
      while (store.healthy && Date.now() < down) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(store.healthy, false);
      const started = Date.now();
      await assert.rejects(store.append(TICKS.slice(3, 6)), StoreUnavailableError);
      await assert.rejects(store.candles({ ...range, interval: "1m" }), StoreUnavailableError);
      await assert.rejects(store.ticks(range), StoreUnavailableError);
      assert.ok(Date.now() - started < 100, "calls while unhealthy are refused without waiting");

      // A store starting while the database is down comes up unhealthy rather than failing.
      const late = await createPostgresHistoryStore({ url: database.url, retentionDays: 0, probeMs: 100, timeoutMs: 1_000 });
      stores.push(late);
      assert.equal(late.healthy, false);

      await database.restart();
      const deadline = Date.now() + 5_000;
      while (!(store.healthy && late.healthy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(store.healthy, true);
      assert.equal(late.healthy, true);
      assert.deepEqual(changes, [false, true]);

      await store.append(TICKS.slice(3, 6));
      assert.deepEqual((await late.ticks(range)).map((t) => t.sequence), [1, 2, 3, 4, 5, 6]);
    } finally {
      await store.close();
      await database.stop();
    }
  });
});
