// A plain Fastify JSON route as the REST peer: the same seeded market, the
// domain snapshot sent as JSON, nothing else. Over HTTP/1.1, or over h2c
// with PEER_HTTP2=1.
import Fastify, { type FastifyInstance } from "fastify";
import { allocationSampler } from "../lib/allocation-sampler.js";
import { importBuilt } from "../lib/built.js";
import { serveParent } from "../lib/child.js";
import { seedTicks } from "./bench-market.js";

// The market as the gateway's build has it, like the gateway peer's.
const { Market } = await importBuilt<typeof import("../../src/market/market.js")>("market/market.js");
const { MemorySnapshotStore } = await importBuilt<typeof import("../../src/market/memory-store.js")>("market/memory-store.js");
const market = new Market(new MemorySnapshotStore());
await market.ingest(seedTicks());
// PEER_HTTP2=1 serves the same route over cleartext HTTP/2 (h2c) instead.
// (Typed as the HTTP/1.1 instance: the route is the same on both.)
const app = (process.env.PEER_HTTP2 === "1" ? Fastify({ logger: false, http2: true }) : Fastify({ logger: false })) as FastifyInstance;
app.get<{ Params: { symbolId: string } }>("/v1/snapshots/:symbolId", async (request, reply) => {
  const snapshot = await market.get(Number(request.params.symbolId));
  if (snapshot === undefined) return reply.code(404).send({ message: "unknown symbol" });
  return snapshot;
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
if (address === null || typeof address === "string") throw new Error("fastify did not bind a TCP port");
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
serveParent({ port: address.port }, allocationSampler());
