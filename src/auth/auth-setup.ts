import { readFileSync, unwatchFile, watchFile, type Stats } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthConfig } from "../config.js";
import { MarketDataService } from "../gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../gen/stockify/v1/market_feed_service_pb.js";
import { authorize, createAuthInterceptor, WWW_AUTHENTICATE } from "./auth-interceptor.js";
import type { GatewayServices } from "../pipeline/service-registry.js";
import { parseTokenGrants, TokenRegistry, TokenSpecError, type Scope, type TokenGrant } from "./tokens.js";

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
  if (config.tokens.length === 0 && config.tokensFile === undefined) {
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
  if (config.tokensFile !== undefined) watchTokensFile(app, tokens, config.tokensFile, config.inlineTokens);
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

/** How often the tokens file is checked for changes (a rotated Kubernetes secret, an edit). */
const TOKENS_FILE_POLL_MS = 2000;

/**
 * watchTokensFile reads the tokens file again whenever it changes, so
 * tokens can be rotated without a restart. A file that no longer parses is
 * reported and ignored: the tokens in force stay until it is fixed.
 */
function watchTokensFile(app: FastifyInstance, tokens: TokenRegistry, path: string, inline: readonly TokenGrant[]): void {
  const reload = (current: Stats, previous: Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    try {
      const fromFile = parseTokenGrants(readFileSync(path, "utf8"));
      tokens.replace([...inline, ...fromFile]);
      app.log.info({ tokens: tokens.size }, "AUTH_TOKENS_FILE read again");
    } catch (error) {
      app.log.error({ reason: error instanceof TokenSpecError ? error.message : (error as NodeJS.ErrnoException).code }, "AUTH_TOKENS_FILE not reloaded; the previous tokens stay in force");
    }
  };
  watchFile(path, { interval: TOKENS_FILE_POLL_MS, persistent: false }, reload);
  app.addHook("onClose", async () => unwatchFile(path, reload));
}
