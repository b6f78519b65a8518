import type { Snapshot, Tick } from "./snapshot.js";

/**
 * decodeSnapshot reads a snapshot in the packed form the Redis scripts write
 * (see redis-scripts.ts for the field order).
 */
export function decodeSnapshot(packed: string): Snapshot {
  const f = JSON.parse(packed) as string[];
  if (!Array.isArray(f) || f.length !== 14) throw new Error(`malformed snapshot record: ${packed.slice(0, 80)}`);
  return {
    symbolId: Number(f[0]),
    sequence: Number(f[1]),
    ltp: Number(f[2]),
    open: Number(f[3]),
    high: Number(f[4]),
    low: Number(f[5]),
    close: Number(f[6]),
    volume: Number(f[7]),
    bid: Number(f[8]),
    ask: Number(f[9]),
    bidSize: Number(f[10]),
    askSize: Number(f[11]),
    exchangeTimeMs: Number(f[12]),
    symbol: f[13]!,
  };
}

/**
 * tickArguments appends a tick's fields to a fold script's arguments, ''
 * standing for a field the tick does not carry.
 */
export function tickArguments(tick: Tick, args: string[]): void {
  args.push(
    String(tick.symbolId),
    String(tick.ltp),
    optional(tick.volume),
    optional(tick.bid),
    optional(tick.ask),
    optional(tick.bidSize),
    optional(tick.askSize),
    optional(tick.exchangeTimeMs),
    tick.symbol ?? "",
  );
}

function optional(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}
