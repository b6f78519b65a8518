import { Code, ConnectError } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthConfig } from "../config.js";
import { MarketDataService } from "../gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../gen/stockify/v1/market_feed_service_pb.js";
import { authorize, createAuthInterceptor, WWW_AUTHENTICATE } from "./auth-interceptor.js";
import type { GatewayServices } from "./gateway-services.js";
import { TokenRegistry, type Scope } from "./tokens.js";

/** Scope each API service requires. */
export const REQUIRED_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  [MarketDataService.typeName, "read"],
  [MarketFeedService.typeName, "write"],
]);

/** Plain HTTP routes that need a `read` token when AUTH_METRICS=token. */
const METRICS_ROUTE = "/metrics";

/**
 * setUpAuth puts the bearer-token interceptor at the head of the gateway's
 * one interceptor chain (so every protocol and lane is checked), guards
 * `/metrics` when configured to, and says loudly in the log when auth is off.
 * Call it before the services are registered with any lane.
 */
export function setUpAuth(app: FastifyInstance, services: GatewayServices, config: AuthConfig): void {
  if (config.tokens.length === 0) {
    app.log.warn(
      "AUTH IS OFF: anyone who can reach this port may read market data and publish ticks; set AUTH_TOKENS or AUTH_TOKENS_FILE",
    );
    return;
  }
  const tokens = new TokenRegistry(config.tokens);
  services.interceptors.unshift(
    createAuthInterceptor({ tokens, requiredScopes: REQUIRED_SCOPES, openServices: new Set(config.openServices) }),
  );
  app.log.info({ tokens: tokens.size, openServices: config.openServices, openMetrics: config.openMetrics }, "bearer-token auth on");
  if (config.openMetrics) return;
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.url !== METRICS_ROUTE) return;
    try {
      authorize(tokens, request.headers.authorization, "read");
    } catch (error) {
      const refusal = ConnectError.from(error);
      await reply
        .code(refusal.code === Code.PermissionDenied ? 403 : 401)
        .header(WWW_AUTHENTICATE, refusal.metadata.get(WWW_AUTHENTICATE))
        .send({ code: Code[refusal.code], message: refusal.rawMessage });
    }
  });
}
