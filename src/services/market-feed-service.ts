import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  type MarketFeedService,
  PublishTicksResponseSchema,
  StreamTicksResponseSchema,
  type PublishTicksRequest,
  type StreamTicksRequest,
} from "../gen/stockify/v1/market_feed_service_pb.js";
import type { Market } from "../market/market.js";
import { toConnectError } from "./connect-errors.js";
import { tickFromMessage } from "./snapshot-messages.js";

/**
 * createMarketFeedService implements stockify.v1.MarketFeedService, the
 * write path producers use.
 */
export function createMarketFeedService(market: Market): ServiceImpl<typeof MarketFeedService> {
  return {
    async publishTicks(request: PublishTicksRequest) {
      const updated = await market.ingest(request.ticks.map(tickFromMessage)).catch(rethrow);
      const sequences: Record<number, bigint> = {};
      for (const snapshot of updated) sequences[snapshot.symbolId] = BigInt(snapshot.sequence);
      return create(PublishTicksResponseSchema, { acceptedCount: updated.length, sequences });
    },

    async streamTicks(requests: AsyncIterable<StreamTicksRequest>) {
      let accepted = 0;
      for await (const request of requests) {
        const updated = await market.ingest(request.ticks.map(tickFromMessage)).catch(rethrow);
        accepted += updated.length;
      }
      return create(StreamTicksResponseSchema, { acceptedCount: BigInt(accepted) });
    },
  };
}

function rethrow(error: unknown): never {
  throw toConnectError(error);
}
