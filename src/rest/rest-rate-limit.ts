import { Code, ConnectError } from "@connectrpc/connect";
import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";

/**
 * RateLimitConfig bounds the REST requests one client may make.
 */
export interface RateLimitConfig {
  /** Requests per window per client address; 0 turns the limit off. */
  max: number;
  /** Window length in milliseconds. */
  windowMs: number;
}

/**
 * registerRestRateLimit limits the requests per client address on the
 * routes of the scope it is registered in (the REST routes), answering
 * RESOURCE_EXHAUSTED (HTTP 429 with Retry-After) past the limit. gRPC and
 * Connect callers are not counted: they multiplex many calls on few
 * connections, and are bounded per connection instead.
 */
export async function registerRestRateLimit(scope: FastifyInstance, config: RateLimitConfig): Promise<void> {
  if (config.max === 0) return;
  await scope.register(fastifyRateLimit, {
    max: config.max,
    timeWindow: config.windowMs,
    // Thrown, so the REST error handler answers in its usual JSON shape.
    errorResponseBuilder: (_request, context) =>
      new ConnectError(`rate limit of ${context.max} requests per ${context.after} reached`, Code.ResourceExhausted),
  });
}
