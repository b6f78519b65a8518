import { toJsonString } from "@bufbuild/protobuf";
import Table from "cli-table3";
import pc from "picocolors";
import { SnapshotSchema, type Snapshot } from "@stockify/client/gen/stockify/v1/snapshot_pb.js";

const price = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const count = new Intl.NumberFormat("en-IN");

/**
 * snapshotJson is a snapshot as one line of proto3 JSON, the same shape
 * REST callers get.
 */
export function snapshotJson(snapshot: Snapshot): string {
  return toJsonString(SnapshotSchema, snapshot);
}

/**
 * snapshotTable renders snapshots as a terminal table: one row per symbol,
 * change against the previous close in green or red, and the last move
 * marked with an arrow when `previous` holds the price before it.
 */
export function snapshotTable(snapshots: Iterable<Snapshot>, previous?: ReadonlyMap<number, number>): string {
  const table = new Table({
    head: ["Symbol", "ID", "LTP", "Change", "%", "Bid", "Ask", "Volume", "Seq", "Time"],
    colAligns: ["left", "right", "right", "right", "right", "right", "right", "right", "right", "left"],
    style: pc.isColorSupported ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] },
  });
  for (const s of snapshots) {
    const change = s.close > 0 ? s.ltp - s.close : 0;
    const paint = change > 0 ? pc.green : change < 0 ? pc.red : (text: string) => text;
    const before = previous?.get(s.symbolId);
    const move = before === undefined || before === s.ltp ? " " : s.ltp > before ? pc.green("▲") : pc.red("▼");
    table.push([
      s.symbol,
      String(s.symbolId),
      `${price.format(s.ltp)} ${move}`,
      paint((change > 0 ? "+" : "") + price.format(change)),
      paint(s.close > 0 ? `${((change / s.close) * 100).toFixed(2)}%` : ""),
      s.bid > 0 ? price.format(s.bid) : "",
      s.ask > 0 ? price.format(s.ask) : "",
      count.format(s.volume),
      String(s.sequence),
      s.exchangeTime === undefined ? "" : new Date(Number(s.exchangeTime.seconds) * 1000 + s.exchangeTime.nanos / 1e6).toISOString().slice(11, 23),
    ]);
  }
  return table.toString();
}

/**
 * symbolTable renders the symbols a gateway knows as a table in the style
 * of the snapshot table: id and name, one row each.
 */
export function symbolTable(symbols: Iterable<{ symbolId: number; symbol: string }>): string {
  const table = new Table({
    head: ["ID", "Symbol"],
    colAligns: ["right", "left"],
    style: pc.isColorSupported ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] },
  });
  for (const { symbolId, symbol } of symbols) table.push([String(symbolId), symbol]);
  return table.toString();
}

/**
 * depthTable renders the order book of a FULL snapshot: bids and asks side
 * by side, best first, with the quantity and number of orders at each
 * price; empty when the snapshot carries no book.
 */
export function depthTable(snapshot: Snapshot): string {
  const bids = snapshot.depth?.bids ?? [];
  const asks = snapshot.depth?.asks ?? [];
  if (bids.length === 0 && asks.length === 0) return "";
  const table = new Table({
    head: ["Orders", "Qty", "Bid", "Ask", "Qty", "Orders"],
    colAligns: ["right", "right", "right", "right", "right", "right"],
    style: pc.isColorSupported ? { head: ["cyan"], border: ["grey"] } : { head: [], border: [] },
  });
  for (let i = 0; i < Math.max(bids.length, asks.length); i++) {
    const bid = bids[i];
    const ask = asks[i];
    table.push([
      bid === undefined ? "" : count.format(bid.orders),
      bid === undefined ? "" : count.format(bid.quantity),
      bid === undefined ? "" : pc.green(price.format(bid.price)),
      ask === undefined ? "" : pc.red(price.format(ask.price)),
      ask === undefined ? "" : count.format(ask.quantity),
      ask === undefined ? "" : count.format(ask.orders),
    ]);
  }
  return `${snapshot.symbol || snapshot.symbolId}\n${table.toString()}`;
}

