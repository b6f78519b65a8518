import type { Interceptor } from "@connectrpc/connect";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { createCallObserver } from "../pipeline/call-observer.js";
import { createDeadlineGate } from "../pipeline/deadline-gate.js";
import { createInterceptorChain } from "../pipeline/interceptor-chain.js";
import { createCallTracing, type CallTracingOptions } from "../pipeline/call-tracing.js";
import { createCallRateLimit, type CallRateLimitOptions } from "../pipeline/call-rate-limit.js";
import type { GatewayServices } from "../pipeline/service-registry.js";

/**
 * CallChainPluginOptions carry what the embedding application adds to
 * every call.
 */
export interface CallChainPluginOptions {
  /** The embedding application's interceptors, innermost: after auth, before the service. Default: none. */
  interceptors?: readonly Interceptor[];
  /** Calls per token per window for gRPC, gRPC-Web and Connect (RATE_LIMIT_*). Default: no limit. */
  rateLimit?: CallRateLimitOptions;
  /** Where call spans go and how callers' trace context is read (OpenTelemetry). Default: no tracing. */
  tracing?: CallTracingOptions;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The services and the one interceptor chain every lane and route serves; frozen. */
    services: GatewayServices;
  }
}

async function callChain(app: FastifyInstance, options: CallChainPluginOptions): Promise<void> {
  const interceptors = createInterceptorChain({
    tracing: options.tracing === undefined ? undefined : createCallTracing(options.tracing),
    observer: createCallObserver({ metrics: app.metrics, logger: app.log }),
    deadline: createDeadlineGate(),
    drain: app.streamDrain.interceptor,
    auth: app.authInterceptor ?? undefined,
    rateLimit: options.rateLimit === undefined ? undefined : createCallRateLimit(options.rateLimit),
    embedder: options.interceptors,
  });
  app.decorate("services", Object.freeze({ registrations: app.registrations, interceptors }));
}

/**
 * callChainPlugin builds the gateway's one interceptor chain from the parts
 * the plugins it depends on made, and decorates the app with the frozen
 * `services` that the Connect handler, the REST transcoder and the gRPC
 * lane take as given. Fastify refuses to register it before those plugins.
 */
export const callChainPlugin = fp(callChain, {
  name: "stockify-call-chain",
  fastify: "5.x",
  dependencies: ["stockify-services", "stockify-operations", "stockify-auth"],
  decorators: { fastify: ["metrics"] },
});
