// A plain Fastify JSON route as the REST peer: the same seeded market, the
// domain snapshot sent as JSON, nothing else.
import Fastify from "fastify";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { serveParent } from "../lib/child.js";
import { seedTicks } from "./bench-market.js";

const market = new Market(new MemorySnapshotStore());
await market.ingest(seedTicks());
const app = Fastify({ logger: false });
app.get<{ Params: { symbolId: string } }>("/v1/snapshots/:symbolId", async (request, reply) => {
  const snapshot = await market.get(Number(request.params.symbolId));
  if (snapshot === undefined) return reply.code(404).send({ message: "unknown symbol" });
  return snapshot;
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
if (address === null || typeof address === "string") throw new Error("fastify did not bind a TCP port");
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
serveParent({ port: address.port }, {});
