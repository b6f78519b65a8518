// The real gateway (src/app.ts) as a bench peer: simulator off, seeded
// store, listening on a free loopback port. Any gateway setting can be
// passed in the environment (STREAM_BUFFER_SIZE, ...).
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { serveParent } from "../lib/child.js";
import { marketControl, seedTicks } from "./bench-market.js";

const config = loadConfig({ ...process.env, SIMULATOR: "off", LOG_LEVEL: "silent", HOST: "127.0.0.1", PORT: "0" });
const app = await buildApp(config, { logger: false });
await app.market.ingest(seedTicks());
await app.listen({ host: config.host, port: 0 });
const address = app.server.address();
if (address === null || typeof address === "string") throw new Error("gateway did not bind a TCP port");
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
serveParent({ port: address.port }, marketControl(app.market));
