import { NO_DEPTH, tickQuote, type DepthLevel, type MarketDepth, type Snapshot, type Tick } from "./snapshot.js";

/**
 * decodeSnapshot reads a snapshot in the packed form the Redis scripts write
 * (see redis-scripts.ts for the field order).
 */
export function decodeSnapshot(packed: string): Snapshot {
  const f = JSON.parse(packed) as string[];
  // Records without a book have 14 fields, as every record had before depth
  // existed, so a store written by an older gateway still reads.
  if (!Array.isArray(f) || (f.length !== 14 && f.length !== 15)) {
    throw new Error(`malformed snapshot record: ${packed.slice(0, 80)}`);
  }
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
    depth: f.length === 15 ? decodeDepth(f[14]!) : NO_DEPTH,
  };
}

/**
 * tickArguments appends a tick's fields to a fold script's arguments, ''
 * standing for a field the tick does not carry.
 */
export function tickArguments(tick: Tick, args: string[]): void {
  const quote = tickQuote(tick);
  args.push(
    String(tick.symbolId),
    String(tick.ltp),
    optional(tick.volume),
    optional(quote.bid),
    optional(quote.ask),
    optional(quote.bidSize),
    optional(quote.askSize),
    optional(tick.exchangeTimeMs),
    tick.symbol ?? "",
    tick.depth === undefined ? "" : encodeDepth(tick.depth),
  );
}

/**
 * encodeDepth packs a book as the Redis record holds it: bids, then "|", then
 * asks; levels separated by ";", each "price,quantity,orders" in the decimal
 * strings JavaScript writes, so prices read back exactly. An empty book is
 * "|", never "", which the fold script reads as "no book in this tick".
 */
export function encodeDepth(depth: MarketDepth): string {
  return `${depth.bids.map(encodeLevel).join(";")}|${depth.asks.map(encodeLevel).join(";")}`;
}

/**
 * decodeDepth reads a book packed by encodeDepth.
 */
export function decodeDepth(packed: string): MarketDepth {
  const bar = packed.indexOf("|");
  if (bar < 0) throw new Error(`malformed depth in snapshot record: ${packed.slice(0, 80)}`);
  if (packed.length === 1) return NO_DEPTH;
  return { bids: decodeSide(packed.slice(0, bar)), asks: decodeSide(packed.slice(bar + 1)) };
}

function encodeLevel(level: DepthLevel): string {
  return `${level.price},${level.quantity},${level.orders}`;
}

function decodeSide(packed: string): DepthLevel[] {
  if (packed === "") return [];
  return packed.split(";").map((level) => {
    const [price, quantity, orders] = level.split(",");
    return { price: Number(price), quantity: Number(quantity), orders: Number(orders) };
  });
}

function optional(value: number | undefined): string {
  return value === undefined ? "" : String(value);
}
