import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type MarketFeedService,
  PublishTicksResponseSchema,
  StreamTicksResponseSchema,
  type PublishTicksRequest,
  type StreamTicksRequest,
} from "../gen/stockify/v1/market_feed_service_pb.js";
import { SymbolRightsError } from "../market/errors.js";
import type { Market } from "../market/market.js";
import type { SymbolRights } from "../market/tick-validation.js";
import { callIdentityKey } from "../pipeline/call-identity.js";
import type { Scope } from "../pipeline/service-registry.js";
import { toConnectError } from "./connect-errors.js";
import { tickFromMessage } from "./snapshot-messages.js";

/** ADMIN_SCOPE is the scope a producer needs to create or rename a symbol. */
export const ADMIN_SCOPE: Scope = "admin";

/**
 * createMarketFeedService implements stockify.v1.MarketFeedService, the
 * write path producers use. Ticks for known symbols need the service's own
 * scope; creating or renaming a symbol needs the `admin` scope too, unless
 * the call carries no credential to ask (auth off, or the service open).
 */
export function createMarketFeedService(market: Market): ServiceImpl<typeof MarketFeedService> {
  return {
    async publishTicks(request: PublishTicksRequest, context: HandlerContext) {
      const updated = await market.ingest(request.ticks.map(tickFromMessage), symbolRights(context)).catch(rethrow);
      const sequences: Record<number, bigint> = {};
      for (const snapshot of updated) sequences[snapshot.symbolId] = BigInt(snapshot.sequence);
      return create(PublishTicksResponseSchema, { acceptedCount: updated.length, sequences });
    },

    async streamTicks(requests: AsyncIterable<StreamTicksRequest>, context: HandlerContext) {
      const rights = symbolRights(context);
      let accepted = 0;
      for await (const request of requests) {
        const updated = await market.ingest(request.ticks.map(tickFromMessage), rights).catch(rethrow);
        accepted += updated.length;
      }
      return create(StreamTicksResponseSchema, { acceptedCount: BigInt(accepted) });
    },
  };
}

function symbolRights(context: HandlerContext): SymbolRights {
  const identity = context.values.get(callIdentityKey);
  return { manageSymbols: identity?.scopes === undefined || identity.scopes.has(ADMIN_SCOPE) };
}

function rethrow(error: unknown): never {
  if (error instanceof SymbolRightsError) {
    throw new ConnectError(`${error.message}: creating or renaming a symbol needs the "${ADMIN_SCOPE}" scope`, Code.PermissionDenied);
  }
  throw toConnectError(error);
}
