// The real gateway as a bench peer, built as `npm start` runs it
// (dist/app.js): simulator off, seeded store, listening on a free loopback
// port. Any gateway setting can be passed in the environment (see benchConfig).
import { importBuilt } from "../lib/built.js";
import { allocationSampler } from "../lib/allocation-sampler.js";
import { serveParent } from "../lib/child.js";
import { benchConfig, marketControl, seedTicks } from "./bench-market.js";

const { buildApp } = await importBuilt<typeof import("../../src/app.js")>("app.js");
const config = benchConfig();
const app = await buildApp(config, { logger: false });
// With REDIS_URL the store connects in the background.
while (!app.market.store.healthy) await new Promise((resolve) => setTimeout(resolve, 10));
await app.market.ingest(seedTicks());
await app.listen({ host: config.host, port: 0 });
const address = app.server.address();
if (address === null || typeof address === "string") throw new Error("gateway did not bind a TCP port");
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
serveParent({ port: address.port }, { ...marketControl(app.market), ...allocationSampler() });
