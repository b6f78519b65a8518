import { unwatchFile, watchFile, type Stats } from "node:fs";
import type { Interceptor } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { AuthConfig } from "../config.js";
import { httpErrorResponse } from "../pipeline/http-errors.js";
import type { Scope, ServiceRegistration } from "../pipeline/service-registry.js";
import { authorize, createAuthGate, createAuthInterceptor, type AuthGate } from "./auth-interceptor.js";
import { loadTokenGrants, TokenRegistry, type TokenGrant } from "./tokens.js";

declare module "fastify" {
  interface FastifyInstance {
    /** The bearer-token check of the call chain; null when auth is off. */
    authInterceptor: Interceptor | null;
    /** The same check from a call's headers, for lanes to ask before reading a body; null when auth is off. */
    authGate: AuthGate | null;
  }
}

/** Plain HTTP routes that need a `read` token when AUTH_METRICS=token. */
const METRICS_ROUTE = "/metrics";

/**
 * requiredScopes maps each service's name to the scope its registration
 * declares, for the auth interceptor.
 */
export function requiredScopes(registrations: readonly ServiceRegistration[]): ReadonlyMap<string, Scope> {
  const scopes = new Map<string, Scope>();
  for (const { service, scope } of registrations) if (scope !== undefined) scopes.set(service.typeName, scope);
  return scopes;
}

async function auth(app: FastifyInstance, config: AuthConfig): Promise<void> {
  if (config.tokens.length === 0 && config.tokensFile === undefined) {
    app.log.warn(
      "AUTH IS OFF: anyone who can reach this port may read market data and publish ticks; set AUTH_TOKENS or AUTH_TOKENS_FILE",
    );
    app.decorate("authInterceptor", null);
    app.decorate("authGate", null);
    return;
  }
  const tokens = new TokenRegistry(config.tokens);
  const authOptions = { tokens, requiredScopes: requiredScopes(app.registrations), openServices: new Set(config.openServices) };
  app.decorate("authInterceptor", createAuthInterceptor(authOptions));
  app.decorate("authGate", createAuthGate(authOptions));
  app.log.info({ tokens: tokens.size, openServices: config.openServices, openMetrics: config.openMetrics }, "bearer-token auth on");
  if (config.tokensFile !== undefined) watchTokensFile(app, tokens, config.tokensFile, config.inlineTokens);
  if (config.openMetrics) return;
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.url !== METRICS_ROUTE) return;
    try {
      authorize(tokens, request.headers.authorization, "read");
    } catch (error) {
      // The same status, challenge and body shape as a REST call refused by auth.
      const refusal = httpErrorResponse(error);
      refusal.headers.forEach((value, key) => reply.header(key, value));
      await reply.code(refusal.status).type("application/json; charset=utf-8").send(JSON.stringify(refusal.body));
    }
  });
}

/**
 * authPlugin makes the bearer-token interceptor that the call chain puts in
 * front of the services (each service needs the scope its registration
 * declares; open services need none), guards `/metrics` when configured to,
 * and says loudly in the log when auth is off.
 */
export const authPlugin = fp(auth, {
  name: "stockify-auth",
  fastify: "5.x",
  dependencies: ["stockify-services"],
});

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
      tokens.replace(loadTokenGrants(inline, path));
      app.log.info({ tokens: tokens.size }, "AUTH_TOKENS_FILE read again");
    } catch (error) {
      app.log.error({ reason: (error as Error).message }, "AUTH_TOKENS_FILE not reloaded; the previous tokens stay in force");
    }
  };
  watchFile(path, { interval: TOKENS_FILE_POLL_MS, persistent: false }, reload);
  app.addHook("onClose", async () => unwatchFile(path, reload));
}
