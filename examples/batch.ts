// Batch: many snapshots in one call instead of one call per symbol.
import { MarketDataClient } from "@stockify/client";
import { exampleOptions } from "./connection.js";

await using client = new MarketDataClient(exampleOptions());

const symbols = await client.listSymbols();
const ids = symbols.slice(0, 100).map((s) => s.symbolId);
const started = performance.now();
const snapshots = await client.getBatchSnapshots(ids);
const elapsed = performance.now() - started;
for (const [symbolId, snapshot] of snapshots) console.log(`${symbolId}: ${snapshot.ltp}`);
console.log(`${snapshots.size} snapshots in one call, ${elapsed.toFixed(2)} ms`);
