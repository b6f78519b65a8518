import { cors as connectCors } from "@connectrpc/connect";
import fastifyCors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/**
 * registerCors lets pages from the configured origins call the gateway:
 * preflight requests are answered with the methods and headers the Connect,
 * gRPC-Web and REST protocols use, and responses expose the headers a
 * browser client must read (grpc-status, grpc-message, ...). `*` allows any
 * origin; an empty list registers nothing, so browsers keep the same-origin
 * rule.
 */
export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  if (origins.length === 0) return;
  await app.register(fastifyCors, {
    origin: origins.includes("*") ? "*" : [...origins],
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, "authorization", "x-request-id"],
    exposedHeaders: [...connectCors.exposedHeaders, "www-authenticate", "retry-after", "x-request-id"],
    // Browsers cap this (Chromium at 2 hours); it saves a preflight per call.
    maxAge: 7200,
  });
}
