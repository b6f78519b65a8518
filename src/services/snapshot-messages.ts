import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  MarketDepthSchema,
  SnapshotSchema,
  type DepthLevel as DepthLevelMessage,
  type MarketDepth as MarketDepthMessage,
  type Snapshot as SnapshotMessage,
  type Tick as TickMessage,
} from "../gen/stockify/v1/snapshot_pb.js";
import type { FieldMode } from "../market/field-mode.js";
import type { DepthLevel, MarketDepth, Snapshot, Tick } from "../market/snapshot.js";
import { identityCache } from "../pipeline/identity-cache.js";

// Snapshots are immutable and fanned out to many streams: convert each one
// once per mode, whoever asks first. The message is frozen, all the way
// down: shared by every stream and call, it must not change, and what is
// derived from a frozen message (its JSON text, its frames) may be kept.
const messages: Readonly<Record<FieldMode, (snapshot: Snapshot) => SnapshotMessage>> = {
  ltp: identityCache((snapshot: Snapshot) => frozen(ltpMessage(snapshot))),
  quote: identityCache((snapshot: Snapshot) => frozen(quoteMessage(snapshot, false))),
  full: identityCache((snapshot: Snapshot) => frozen(quoteMessage(snapshot, true))),
};

/**
 * snapshotMessage converts a domain snapshot to its protobuf message in a
 * field mode, once per snapshot and mode: "ltp" carries symbol_id, ltp,
 * sequence and exchange_time only; "quote" every field but depth; "full"
 * every field, depth included.
 */
export function snapshotMessage(snapshot: Snapshot, mode: FieldMode = "quote"): SnapshotMessage {
  return messages[mode](snapshot);
}

// Writers that fill in proto3's defaults (REST's JSON) must leave an LTP
// message's unset fields out: there they mean "not sent", not zero.
const ltpMessages = new WeakSet<SnapshotMessage>();

/**
 * isLtpSnapshot tells whether snapshotMessage built a message in LTP mode,
 * whose fields other than symbol_id, ltp, sequence and exchange_time are
 * absent rather than zero.
 */
export function isLtpSnapshot(message: SnapshotMessage): boolean {
  return ltpMessages.has(message);
}

// Only the fields LTP promises are set: proto3 leaves the others off the
// wire, which is what makes the mode small.
function ltpMessage(snapshot: Snapshot): SnapshotMessage {
  const message = create(SnapshotSchema, {
    symbolId: snapshot.symbolId,
    ltp: snapshot.ltp,
    sequence: BigInt(snapshot.sequence),
    exchangeTime: timestampFromMs(snapshot.exchangeTimeMs),
  });
  ltpMessages.add(message);
  return message;
}

function quoteMessage(snapshot: Snapshot, withDepth: boolean): SnapshotMessage {
  return create(SnapshotSchema, {
    symbolId: snapshot.symbolId,
    symbol: snapshot.symbol,
    ltp: snapshot.ltp,
    open: snapshot.open,
    high: snapshot.high,
    low: snapshot.low,
    close: snapshot.close,
    volume: BigInt(snapshot.volume),
    bid: snapshot.bid,
    ask: snapshot.ask,
    bidSize: BigInt(snapshot.bidSize),
    askSize: BigInt(snapshot.askSize),
    sequence: BigInt(snapshot.sequence),
    exchangeTime: timestampFromMs(snapshot.exchangeTimeMs),
    // Set even when the book is empty, so that a FULL subscriber can tell
    // "no book yet" from "not asked for".
    depth: withDepth ? depthMessage(snapshot.depth) : undefined,
  });
}

function frozen(message: SnapshotMessage): SnapshotMessage {
  if (message.exchangeTime !== undefined) Object.freeze(message.exchangeTime);
  const depth = message.depth;
  if (depth !== undefined) {
    for (const level of depth.bids) Object.freeze(level);
    for (const level of depth.asks) Object.freeze(level);
    Object.freeze(depth.bids);
    Object.freeze(depth.asks);
    Object.freeze(depth);
  }
  return Object.freeze(message);
}

function depthMessage(depth: MarketDepth): MarketDepthMessage {
  return create(MarketDepthSchema, { bids: depth.bids.map(levelMessage), asks: depth.asks.map(levelMessage) });
}

function levelMessage(level: DepthLevel) {
  return { price: level.price, quantity: BigInt(level.quantity), orders: level.orders };
}

/**
 * tickFromMessage converts a producer's tick message to a domain tick.
 */
export function tickFromMessage(message: TickMessage): Tick {
  return {
    symbolId: message.symbolId,
    ltp: message.ltp,
    volume: message.volume === undefined ? undefined : Number(message.volume),
    bid: message.bid,
    ask: message.ask,
    bidSize: message.bidSize === undefined ? undefined : Number(message.bidSize),
    askSize: message.askSize === undefined ? undefined : Number(message.askSize),
    exchangeTimeMs: message.exchangeTime === undefined ? undefined : timestampMs(message.exchangeTime),
    symbol: message.symbol,
    depth:
      message.depth === undefined
        ? undefined
        : { bids: message.depth.bids.map(levelFromMessage), asks: message.depth.asks.map(levelFromMessage) },
  };
}

// A quantity past 2^53 loses precision here and is then refused by tick
// validation, which checks for safe integers.
function levelFromMessage(level: DepthLevelMessage): DepthLevel {
  return { price: level.price, quantity: Number(level.quantity), orders: level.orders };
}
