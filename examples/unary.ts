// Unary call: one snapshot, with the client's default deadline and retries.
import { MarketDataClient } from "@stockify/client";
import { exampleOptions } from "./connection.js";

const client = new MarketDataClient(exampleOptions());
await client.connect();

const started = performance.now();
const snapshot = await client.getSnapshot(13);
console.log(`${snapshot.symbol} (${snapshot.symbolId}) LTP: ${snapshot.ltp}`);
console.log(`latency: ${(performance.now() - started).toFixed(2)} ms`);

await client.close();
