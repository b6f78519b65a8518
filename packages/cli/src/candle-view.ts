import { toJsonString } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import pc from "picocolors";
import { CandleSchema, type Candle } from "@stockify/client/gen/stockify/v1/market_history_service_pb.js";

const price = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = new Intl.NumberFormat("en-IN");

// Fixed widths rather than a measured table: live rows printed one at a
// time under the header must line up with it.
const COLUMNS = [
  ["Time (UTC)", 19],
  ["Open", 12],
  ["High", 12],
  ["Low", 12],
  ["Close", 12],
  ["Volume", 14],
  ["Ticks", 8],
] as const;

/**
 * candleJson is a bar as one line of proto3 JSON, the same shape REST
 * callers get.
 */
export function candleJson(candle: Candle): string {
  return toJsonString(CandleSchema, candle);
}

/** candleStartMs is when a bar starts, in ms since the epoch. */
export function candleStartMs(candle: Candle): number {
  return candle.startTime === undefined ? 0 : timestampMs(candle.startTime);
}

/** candleHeader is the header line of a bar table. */
export function candleHeader(): string {
  const line = COLUMNS.map(([name, width], i) => (i === 0 ? name.padEnd(width) : name.padStart(width))).join("  ");
  return pc.isColorSupported ? pc.cyan(line) : line;
}

/**
 * candleRow is one bar as a line of a bar table: its start in UTC, OHLC,
 * volume and tick count, the close green when the bar rose and red when
 * it fell.
 */
export function candleRow(candle: Candle): string {
  const paint = candle.close > candle.open ? pc.green : candle.close < candle.open ? pc.red : (text: string) => text;
  const cells = [
    new Date(candleStartMs(candle)).toISOString().slice(0, 19).replace("T", " "),
    price.format(candle.open),
    price.format(candle.high),
    price.format(candle.low),
    price.format(candle.close),
    count.format(candle.volume),
    count.format(candle.tickCount),
  ];
  return cells
    .map((cell, i) => {
      const width = COLUMNS[i]![1];
      const padded = i === 0 ? cell.padEnd(width) : cell.padStart(width);
      return i === 4 ? paint(padded) : padded;
    })
    .join("  ");
}

/** candleTable renders bars under a header, one line each, oldest first. */
export function candleTable(candles: Iterable<Candle>): string {
  return [candleHeader(), ...Array.from(candles, candleRow)].join("\n");
}
