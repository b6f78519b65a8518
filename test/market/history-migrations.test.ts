import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres, { type Sql } from "postgres";
import { HISTORY_MIGRATIONS, migrateHistory } from "../../src/market/history-migrations.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";

describe("history migrations", () => {
  let server: TestPostgres;
  let admin: Sql;
  const opened: Sql[] = [];

  before(async () => {
    server = await startPostgres();
    admin = postgres(server.url, { max: 1, onnotice: () => undefined });
  });
  after(async () => {
    for (const sql of opened) await sql.end();
    await admin.end();
    await server.stop();
  });

  async function freshDatabase(name: string): Promise<Sql> {
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    const sql = postgres(url.toString(), { max: 2, onnotice: () => undefined });
    opened.push(sql);
    return sql;
  }

  async function tables(sql: Sql): Promise<string[]> {
    const rows = await sql<{ name: string }[]>`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`;
    return rows.map((row) => row.name);
  }

  it("migrates an empty database to the latest version", async () => {
    const sql = await freshDatabase("empty_db");
    assert.deepEqual(await migrateHistory(sql), [1, 2]);
    assert.deepEqual(await tables(sql), ["candles_1m", "schema_migrations", "ticks"]);
    const [ticks] = await sql<{ kind: string }[]>`SELECT relkind AS kind FROM pg_class WHERE relname = 'ticks'`;
    assert.equal(ticks!.kind, "p", "ticks is a partitioned table");
  });

  it("upgrades a database at the previous version, keeping its ticks", async () => {
    const sql = await freshDatabase("previous_db");
    assert.deepEqual(await migrateHistory(sql, HISTORY_MIGRATIONS.slice(0, 1)), [1]);
    await sql`CREATE TABLE ticks_day PARTITION OF ticks FOR VALUES FROM ('2026-01-01Z') TO ('2026-01-02Z')`;
    await sql`INSERT INTO ticks VALUES (7, 1, '2026-01-01T10:00:00Z', 10, 1, 9.9, 10.1, 5, 5)`;
    assert.deepEqual(await tables(sql), ["schema_migrations", "ticks", "ticks_day"]);

    assert.deepEqual(await migrateHistory(sql), [2]);
    assert.deepEqual(await tables(sql), ["candles_1m", "schema_migrations", "ticks", "ticks_day"]);
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ticks`;
    assert.equal(count!.n, 1);
  });

  it("applies nothing the second time", async () => {
    const sql = await freshDatabase("twice_db");
    await migrateHistory(sql);
    const before = await sql`SELECT version, applied_at FROM schema_migrations ORDER BY version`;
    assert.deepEqual(await migrateHistory(sql), []);
    assert.deepEqual(await sql`SELECT version, applied_at FROM schema_migrations ORDER BY version`, before);
  });

  it("applies each step once when replicas migrate at the same moment", async () => {
    const sql = await freshDatabase("racing_db");
    const url = new URL(server.url);
    url.pathname = "/racing_db";
    const replicas = Array.from({ length: 4 }, () => {
      const replica = postgres(url.toString(), { max: 1, onnotice: () => undefined });
      opened.push(replica);
      return replica;
    });
    const results = await Promise.all(replicas.map((replica) => migrateHistory(replica)));
    assert.deepEqual(results.flat().sort(), [1, 2], "every version applied by exactly one replica");
    const rows = await sql<{ version: number }[]>`SELECT version FROM schema_migrations ORDER BY version`;
    assert.deepEqual(rows.map((row) => row.version), [1, 2]);
  });
});
