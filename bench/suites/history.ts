import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import type { TickRecord } from "../../src/market/history-store.js";
import { createPostgresHistoryStore } from "../../src/market/postgres-history.js";
import { startPostgres, type TestPostgres } from "../../test/support/postgres-server.js";
import type { EmbeddedCandidate, EmbeddedHistoryFigures } from "../clients/embedded-history-probe.js";
import { startChild } from "../lib/child.js";
import type { BenchSettings } from "../lib/settings.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { benchSymbolIds } from "../peers/bench-market.js";
import { type FeedRow, type FeedRun, measureRow } from "./external-feed.js";

/** The targets, printed beside each figure. */
export const HISTORY_TARGETS = {
  ticksPerSecond: 50_000,
  liveP99IncreasePercent: 10,
  getCandlesDayP50Ms: 5,
  getCandlesDayP99Ms: 20,
  getTicksPageP50Ms: 10,
} as const;

/** HistoryIngestRun is the live row on one gateway set-up, history on or off. */
export interface HistoryIngestRun {
  setup: "history off" | "in-memory window" | "PostgreSQL";
  run: FeedRun;
}

/**
 * HistoryResults are the history suite's figures: the embedded default's
 * candidates side by side, sustained ingest into PostgreSQL beside live
 * streams, and history read back against the same SQL run by pgbench.
 */
export interface HistoryResults {
  targets: typeof HISTORY_TARGETS;
  embedded: EmbeddedHistoryFigures[];
  embeddedTicks: number;
  ingest: HistoryIngestRun[];
  /** Ticks the PostgreSQL run's database held afterwards, and over how many seconds of exchange time. */
  written: { ticks: number; spanS: number; perSecond: number };
  /** Live p99 with history in PostgreSQL over the same row with history off, in percent. */
  liveP99IncreasePercent: number;
  queries: {
    bars: number;
    rows: number;
    getCandles: LatencySummary;
    getTicks: LatencySummary;
    /** The same SQL the store runs, by pgbench on one connection. */
    floorCandles: LatencySummary;
    floorTicks: LatencySummary;
  };
  loadAverage: number;
}

const DAY_MS = 86_400_000;
// Far from the live run's sequences, so the seeded day never meets them.
const SEEDED_SEQUENCE_BASE = 1_000_000_000;

/**
 * historySuite measures market history: which embedded default (measured
 * in their own processes), what keeping every tick in PostgreSQL costs the
 * live streams (a gateway in its own process, a paced producer and the
 * subscribers in theirs, history off, in memory and in PostgreSQL), and how
 * fast a day of bars and a page of ticks come back.
 */
export async function historySuite(settings: BenchSettings, log: (line: string) => void): Promise<HistoryResults> {
  const h = settings.history;
  const embedded: EmbeddedHistoryFigures[] = [];
  for (const candidate of ["memory", "pglite"] as EmbeddedCandidate[]) {
    const probe = await startChild("clients/embedded-history-probe.ts");
    try {
      const reply = await probe.request("run", { candidate, ticks: h.embeddedTicks, batchSize: 5_000, queries: h.queries }, 600_000);
      const figures = reply.figures as EmbeddedHistoryFigures;
      log(
        `history: embedded ${candidate}: ${figures.ticksPerSecond} ticks/s, loop p99 ${figures.loopDelayP99Ms} ms, ` +
          `day of 1m bars p50 ${figures.dayOf1mBars.p50Ms} ms, RSS ${figures.rssMiB} MiB`,
      );
      embedded.push(figures);
    } finally {
      await probe.stop();
    }
  }

  const database = await startPostgres();
  try {
    const symbolIds = benchSymbolIds().slice(0, h.symbols);
    const row: FeedRow = {
      id: "a",
      title: `${h.streams} streams × ${symbolIds.length} symbols, ${h.ticksPerSecond} ticks/s`,
      streams: h.streams,
      stalledStreams: 0,
      ticksPerSecond: h.ticksPerSecond,
    };
    const ingestUrl = await freshDatabase(database, "bench_ingest");
    const setups: Array<{ setup: HistoryIngestRun["setup"]; env: Record<string, string> }> = [
      { setup: "history off", env: { HISTORY: "off" } },
      { setup: "in-memory window", env: { HISTORY: "on" } },
      { setup: "PostgreSQL", env: { HISTORY: "on", DATABASE_URL: ingestUrl } },
    ];
    const ingest: HistoryIngestRun[] = [];
    for (const { setup, env } of setups) {
      log(`history: live row beside ${setup}: ${row.title}`);
      const run = await measureRow(settings, row, { peer: `gateway, ${setup}`, script: "peers/gateway.ts", env }, symbolIds);
      if (run.error !== undefined) throw new Error(`history, ${setup}: ${run.error}`);
      log(`history: ${setup}: p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms, ${run.sentTicksPerSecond} ticks/s sent, server ${run.serverCores} cores`);
      ingest.push({ setup, run });
    }
    const written = await writtenTicks(ingestUrl);
    log(`history: PostgreSQL holds ${written.ticks} ticks over ${written.spanS} s: ${written.perSecond} ticks/s`);

    const queryUrl = await freshDatabase(database, "bench_query");
    const symbolId = symbolIds[0]!;
    // Yesterday: inside the gateway's retention, and apart from today's live ticks.
    const dayStartMs = Math.floor(Date.now() / DAY_MS) * DAY_MS - DAY_MS;
    await seedDay(queryUrl, symbolId, dayStartMs);
    const gateway = await startChild("peers/gateway.ts", { env: { DATABASE_URL: queryUrl } });
    let queries: HistoryResults["queries"];
    try {
      const client = await startChild("clients/history-query-client.ts", { init: { port: gateway.ready.port } });
      try {
        const reply = await client.request("run", { symbolId, startMs: dayStartMs, queries: h.queries }, 600_000);
        const floor = await pgbenchFloor(queryUrl, symbolId, dayStartMs, h.queries);
        queries = {
          bars: reply.bars as number,
          rows: reply.rows as number,
          getCandles: reply.getCandles as LatencySummary,
          getTicks: reply.getTicks as LatencySummary,
          ...floor,
        };
      } finally {
        await client.stop();
      }
    } finally {
      await gateway.stop();
    }
    if (queries.bars !== 1_440 || queries.rows !== 1_000) throw new Error(`history: ${queries.bars} bars and ${queries.rows} ticks read back, expected 1440 and 1000`);
    log(`history: GetCandles (${queries.bars} bars) p50 ${queries.getCandles.p50Ms} ms, GetTicks (${queries.rows}) p50 ${queries.getTicks.p50Ms} ms`);
    const off = ingest[0]!.run.latency.p99Ms;
    const on = ingest[2]!.run.latency.p99Ms;
    return {
      targets: HISTORY_TARGETS,
      embedded,
      embeddedTicks: h.embeddedTicks,
      ingest,
      written,
      liveP99IncreasePercent: Math.round(((on - off) / off) * 1000) / 10,
      queries,
      loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    };
  } finally {
    await database.stop();
  }
}

async function freshDatabase(database: TestPostgres, name: string): Promise<string> {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${name}`);
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end();
  }
  const url = new URL(database.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function writtenTicks(url: string): Promise<HistoryResults["written"]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`SELECT count(*)::bigint AS ticks, (extract(epoch FROM max(exchange_time) - min(exchange_time)))::float8 AS span FROM ticks`;
    const ticks = Number(row!.ticks);
    const spanS = Math.round(Number(row!.span) * 10) / 10;
    return { ticks, spanS, perSecond: spanS > 0 ? Math.round(ticks / spanS) : 0 };
  } finally {
    await sql.end();
  }
}

// A trading day of one symbol, a tick every 3 seconds, written through the
// store the gateway uses, so that its bars are the store's own.
async function seedDay(url: string, symbolId: number, dayStartMs: number): Promise<void> {
  const store = await createPostgresHistoryStore({ url, retentionDays: 0 });
  try {
    const records: TickRecord[] = [];
    for (let i = 0; i < DAY_MS / 3_000; i++) {
      const price = 100 + Math.sin(i / 50) * 5;
      records.push({
        symbolId,
        sequence: SEEDED_SEQUENCE_BASE + i,
        timeMs: dayStartMs + i * 3_000,
        price,
        quantity: 1 + (i % 7),
        bid: price - 0.05,
        ask: price + 0.05,
        bidSize: 10,
        askSize: 10,
      });
    }
    for (let i = 0; i < records.length; i += 5_000) await store.append(records.slice(i, i + 5_000));
  } finally {
    await store.close();
  }
}

// The store's own queries for a day of 1-minute bars and a page of 1,000
// ticks, run by pgbench on one connection: the floor under the gateway's figures.
async function pgbenchFloor(url: string, symbolId: number, dayStartMs: number, queries: number) {
  const dir = await mkdtemp(join(tmpdir(), "stockify-pgbench-"));
  try {
    const { candles, ticks } = floorQueries(symbolId, dayStartMs, dayStartMs + DAY_MS);
    const run = async (name: string, query: string) => {
      const file = join(dir, `${name}.sql`);
      await writeFile(file, `${query};\n`);
      await promisify(execFile)("/usr/lib/postgresql/15/bin/pgbench", ["-n", "-c", "1", "-t", String(queries), "-f", file, "-l", `--log-prefix=${join(dir, name)}`, url], {
        cwd: dir,
      });
      const log = (await readdir(dir)).find((f) => f.startsWith(name) && !f.endsWith(".sql"));
      const lines = (await readFile(join(dir, log!), "utf8")).trim().split("\n");
      // pgbench's per-transaction log: the third column is the latency in microseconds.
      return summarize(lines.map((line) => Number(line.split(" ")[2]) / 1000));
    };
    return { floorCandles: await run("candles", candles), floorTicks: await run("ticks", ticks) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The text of PostgresHistoryStore's two reads (candleRows for 1m, ticks),
// with the values the gateway's first page binds: one row past the page.
function floorQueries(symbolId: number, startMs: number, endMs: number): { candles: string; ticks: string } {
  const start = `'${new Date(startMs).toISOString()}'::timestamptz`;
  const end = `'${new Date(endMs).toISOString()}'::timestamptz`;
  return {
    candles:
      "SELECT (extract(epoch FROM bucket) * 1000)::float8 AS start_ms, open, high, low, close, volume, " +
      "tick_count::float8 AS tick_count, last_sequence::float8 AS last_sequence FROM candles_1m " +
      `WHERE symbol_id = ${symbolId} AND bucket >= ${start} AND bucket < ${end} ORDER BY bucket LIMIT 1501`,
    ticks:
      "SELECT sequence::float8 AS sequence, (extract(epoch FROM exchange_time) * 1000)::float8 AS time_ms, " +
      "price, quantity, bid, ask, bid_size, ask_size FROM ticks " +
      `WHERE symbol_id = ${symbolId} AND exchange_time >= ${start} AND exchange_time < ${end} AND sequence > -1 ` +
      "ORDER BY ticks.sequence LIMIT 1001",
  };
}
