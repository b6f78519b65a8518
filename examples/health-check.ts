// Health check: the standard grpc.health.v1 service, as probes and load balancers ask it.
import { MarketDataClient } from "@stockify/client";
import { exampleOptions } from "./connection.js";

await using client = new MarketDataClient(exampleOptions());

const overall = await client.checkHealth();
const marketData = await client.checkHealth("stockify.v1.MarketDataService");
console.log(`gateway: ${overall}`);
console.log(`stockify.v1.MarketDataService: ${marketData}`);
process.exitCode = overall === "SERVING" ? 0 : 1;
