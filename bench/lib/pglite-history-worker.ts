// An embedded PostgreSQL (PGlite, WebAssembly) on a worker thread, holding
// ticks and 1-minute bars in the same two-table shape as the PostgreSQL
// history store: the alternative the embedded default was measured against.
import { parentPort } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

/** PgliteRequest is what the probe asks of the worker. */
export type PgliteRequest =
  | { id: number; op: "append"; columns: [number[], number[], number[], number[], number[]] }
  | { id: number; op: "candles"; symbolId: number; startMs: number; endMs: number; limit: number }
  | { id: number; op: "ticks"; symbolId: number; startMs: number; endMs: number; limit: number };

const db = await PGlite.create();
await db.exec(`
  CREATE TABLE ticks (symbol_id int, sequence bigint, time_ms bigint, price float8, quantity float8, PRIMARY KEY (symbol_id, sequence));
  CREATE INDEX ticks_time ON ticks (symbol_id, time_ms);
  CREATE TABLE candles_1m (symbol_id int, bucket_ms bigint, open float8, high float8, low float8, close float8, volume float8, tick_count int,
    PRIMARY KEY (symbol_id, bucket_ms));
`);

// Only rows this batch really inserted are folded into the bars, as the
// PostgreSQL store does, so that a repeated batch counts once.
const APPEND = `
  WITH inserted AS (
    INSERT INTO ticks SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[])
    ON CONFLICT DO NOTHING RETURNING *)
  INSERT INTO candles_1m
  SELECT symbol_id, time_ms / 60000 * 60000, (array_agg(price ORDER BY sequence))[1], max(price), min(price),
         (array_agg(price ORDER BY sequence DESC))[1], sum(quantity), count(*)
  FROM inserted GROUP BY 1, 2
  ON CONFLICT (symbol_id, bucket_ms) DO UPDATE SET high = greatest(candles_1m.high, excluded.high),
    low = least(candles_1m.low, excluded.low), close = excluded.close,
    volume = candles_1m.volume + excluded.volume, tick_count = candles_1m.tick_count + excluded.tick_count`;

parentPort!.on("message", async (request: PgliteRequest) => {
  if (request.op === "append") {
    await db.query(APPEND, request.columns);
    parentPort!.postMessage({ id: request.id, rows: 0 });
  } else if (request.op === "candles") {
    const result = await db.query(
      "SELECT * FROM candles_1m WHERE symbol_id = $1 AND bucket_ms >= $2 AND bucket_ms < $3 ORDER BY bucket_ms LIMIT $4",
      [request.symbolId, request.startMs, request.endMs, request.limit],
    );
    parentPort!.postMessage({ id: request.id, rows: result.rows.length });
  } else {
    const result = await db.query(
      "SELECT * FROM ticks WHERE symbol_id = $1 AND time_ms >= $2 AND time_ms < $3 ORDER BY sequence LIMIT $4",
      [request.symbolId, request.startMs, request.endMs, request.limit],
    );
    parentPort!.postMessage({ id: request.id, rows: result.rows.length });
  }
});
parentPort!.postMessage({ id: 0, rows: 0 });
