// Fan-out as a @grpc/grpc-js user writes it on a first try: a map of the
// latest snapshots, a set of open SubscribeSnapshots calls, and a
// PublishTicks handler that folds each tick and writes the update to every
// call that wants its symbol, there and then. No conflation, no batching,
// no regard for write()'s answer: grpc-js encodes each write and buffers
// what the socket cannot take yet.
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type * as grpc from "@grpc/grpc-js";
import {
  SubscribeSnapshotsResponseSchema,
  type SubscribeSnapshotsRequest,
  type SubscribeSnapshotsResponse,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { PublishTicksResponseSchema, type PublishTicksRequest, type PublishTicksResponse } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { SnapshotSchema, type Snapshot } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { seedTicks } from "./bench-market.js";

interface Subscriber {
  call: grpc.ServerWritableStream<SubscribeSnapshotsRequest, SubscribeSnapshotsResponse>;
  symbolIds: Set<number>;
}

/**
 * NaiveFanout holds the two handlers, over one map of snapshots seeded
 * like every other peer's market.
 */
export interface NaiveFanout {
  publishTicks: grpc.handleUnaryCall<PublishTicksRequest, PublishTicksResponse>;
  subscribeSnapshots: grpc.handleServerStreamingCall<SubscribeSnapshotsRequest, SubscribeSnapshotsResponse>;
}

/**
 * createNaiveFanout builds the naive PublishTicks and SubscribeSnapshots
 * handlers.
 */
export function createNaiveFanout(): NaiveFanout {
  const snapshots = new Map<number, Snapshot>();
  const subscribers = new Set<Subscriber>();
  for (const tick of seedTicks()) {
    snapshots.set(
      tick.symbolId,
      create(SnapshotSchema, {
        symbolId: tick.symbolId,
        symbol: tick.symbol ?? "",
        ltp: tick.ltp,
        open: tick.ltp,
        high: tick.ltp,
        low: tick.ltp,
        close: tick.ltp,
        volume: BigInt(tick.volume ?? 0),
        bid: tick.bid ?? tick.ltp,
        ask: tick.ask ?? tick.ltp,
        bidSize: BigInt(tick.bidSize ?? 0),
        askSize: BigInt(tick.askSize ?? 0),
        sequence: 1n,
        exchangeTime: timestampNow(),
      }),
    );
  }

  return {
    publishTicks(call, callback) {
      const sequences: Record<number, bigint> = {};
      for (const tick of call.request.ticks) {
        const previous = snapshots.get(tick.symbolId);
        const snapshot = create(SnapshotSchema, {
          symbolId: tick.symbolId,
          symbol: previous?.symbol ?? tick.symbol ?? "",
          ltp: tick.ltp,
          open: previous?.open ?? tick.ltp,
          high: Math.max(previous?.high ?? tick.ltp, tick.ltp),
          low: Math.min(previous?.low ?? tick.ltp, tick.ltp),
          close: previous?.close ?? tick.ltp,
          volume: (previous?.volume ?? 0n) + (tick.volume ?? 0n),
          bid: tick.bid ?? previous?.bid ?? tick.ltp,
          ask: tick.ask ?? previous?.ask ?? tick.ltp,
          bidSize: tick.bidSize ?? previous?.bidSize ?? 0n,
          askSize: tick.askSize ?? previous?.askSize ?? 0n,
          sequence: (previous?.sequence ?? 0n) + 1n,
          exchangeTime: tick.exchangeTime ?? timestampNow(),
        });
        snapshots.set(tick.symbolId, snapshot);
        sequences[tick.symbolId] = snapshot.sequence;
        const response = create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: snapshot } });
        for (const subscriber of subscribers) {
          if (subscriber.symbolIds.has(tick.symbolId)) subscriber.call.write(response);
        }
      }
      callback(null, create(PublishTicksResponseSchema, { acceptedCount: call.request.ticks.length, sequences }));
    },

    subscribeSnapshots(call) {
      const subscriber: Subscriber = { call, symbolIds: new Set(call.request.symbolIds) };
      for (const symbolId of subscriber.symbolIds) {
        const snapshot = snapshots.get(symbolId);
        if (snapshot !== undefined) call.write(create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: snapshot } }));
      }
      subscribers.add(subscriber);
      call.on("cancelled", () => subscribers.delete(subscriber));
      call.on("error", () => subscribers.delete(subscriber));
    },
  };
}
