import type { Sql } from "postgres";

/**
 * HistoryMigration is one versioned step of the history schema: applied
 * once, in version order, and recorded in schema_migrations.
 */
export interface HistoryMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * HISTORY_MIGRATIONS is the history schema, oldest step first. A step
 * already released is never edited: a change is a new step.
 */
export const HISTORY_MIGRATIONS: readonly HistoryMigration[] = Object.freeze([
  {
    version: 1,
    name: "ticks partitioned by day",
    // exchange_time is a timestamptz rather than epoch milliseconds in a
    // bigint: both take 8 bytes and hold a millisecond exactly, but day
    // partitions then have readable bounds, date_bin buckets without
    // arithmetic, and psql users query the table with dates.
    // The primary key holds the partition key because PostgreSQL requires it;
    // a record's time never changes, so (symbol_id, sequence) stays unique.
    sql: `
      CREATE TABLE ticks (
        symbol_id bigint NOT NULL,
        sequence bigint NOT NULL,
        exchange_time timestamptz NOT NULL,
        price float8 NOT NULL,
        quantity float8 NOT NULL,
        bid float8 NOT NULL,
        ask float8 NOT NULL,
        bid_size float8 NOT NULL,
        ask_size float8 NOT NULL,
        PRIMARY KEY (symbol_id, sequence, exchange_time)
      ) PARTITION BY RANGE (exchange_time);
      -- 1s bars and time-bounded reads scan a symbol's ticks by time rather than by sequence.
      CREATE INDEX ticks_symbol_time ON ticks (symbol_id, exchange_time);
    `,
  },
  {
    version: 2,
    name: "1-minute candles",
    // first_sequence and last_sequence decide which side of a merge keeps
    // the open and the close, so batches can fold in any order.
    sql: `
      CREATE TABLE candles_1m (
        symbol_id bigint NOT NULL,
        bucket timestamptz NOT NULL,
        open float8 NOT NULL,
        high float8 NOT NULL,
        low float8 NOT NULL,
        close float8 NOT NULL,
        volume float8 NOT NULL,
        tick_count bigint NOT NULL,
        first_sequence bigint NOT NULL,
        last_sequence bigint NOT NULL,
        PRIMARY KEY (symbol_id, bucket)
      );
    `,
  },
]);

/**
 * MIGRATION_LOCK is the advisory lock key that replicas starting together
 * take before migrating: "stockify" read as ASCII, so it is unlikely to
 * meet another application's key on a shared database.
 */
export const MIGRATION_LOCK = 0x73746f636b696679n;

/**
 * migrateHistory applies the steps a database does not have yet, in one
 * transaction under an advisory lock, and returns the versions it applied.
 *
 * A replica that waits for the lock finds the steps applied by the one that
 * held it and applies nothing; a failed step leaves the schema as it was.
 */
export async function migrateHistory(sql: Sql, migrations: readonly HistoryMigration[] = HISTORY_MIGRATIONS): Promise<number[]> {
  return await sql.begin(async (tx) => {
    // A step may take longer than the statement timeout the connection keeps for queries.
    await tx`SET LOCAL statement_timeout = 0`;
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )
    `;
    const rows = await tx<{ version: number }[]>`SELECT version FROM schema_migrations`;
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
      applied.push(migration.version);
    }
    return applied;
  });
}
