import fastifyCompress from "@fastify/compress";
import type { FastifyInstance } from "fastify";
import type { LimitsConfig } from "./limits.js";

/**
 * registerHttpCompression compresses plain HTTP responses (REST, metrics,
 * the dashboard's script) with the configured encodings for clients that
 * send Accept-Encoding. RPC responses are compressed by the protocols
 * themselves (grpc-encoding, connect-content-encoding) and streams are
 * written past Fastify's reply, so neither is touched here. Register before
 * the routes it should apply to.
 */
export async function registerHttpCompression(app: FastifyInstance, limits: LimitsConfig): Promise<void> {
  if (limits.compression.length === 0) return;
  await app.register(fastifyCompress, {
    encodings: limits.compression,
    threshold: limits.compressMinBytes,
    // Request bodies stay as sent: Connect decompresses its own, and REST
    // bodies are small.
    globalDecompression: false,
  });
}
