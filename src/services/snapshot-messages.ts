import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  SnapshotSchema,
  type Snapshot as SnapshotMessage,
  type Tick as TickMessage,
} from "../gen/stockify/v1/snapshot_pb.js";
import type { Snapshot, Tick } from "../market/snapshot.js";

// Snapshots are immutable and fanned out to many streams: convert each one
// once, whoever asks first.
const messages = new WeakMap<Snapshot, SnapshotMessage>();

/**
 * snapshotMessage converts a domain snapshot to its protobuf message, once
 * per snapshot.
 */
export function snapshotMessage(snapshot: Snapshot): SnapshotMessage {
  let message = messages.get(snapshot);
  if (message === undefined) {
    message = create(SnapshotSchema, {
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
    });
    messages.set(snapshot, message);
  }
  return message;
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
  };
}
