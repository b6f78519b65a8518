// Bidirectional streaming: change the symbols of a live stream while it runs.
import { MarketDataClient } from "@stockify/client";
import { exampleOptions, updateLimit } from "./connection.js";

await using client = new MarketDataClient(exampleOptions());
await using stream = client.streamMarketData([13]);

let received = 0;
for await (const snapshot of stream) {
  console.log(`Update: ${snapshot.symbol} (${snapshot.symbolId}) ${snapshot.ltp}`);
  received++;
  if (received === 1) {
    const change = await stream.subscribe([25, 27]);
    console.log(`subscribed, now streaming ${change.activeSymbolIds.join(", ")}`);
  } else if (received === Math.ceil(updateLimit / 2)) {
    const change = await stream.unsubscribe([13]);
    console.log(`unsubscribed 13, now streaming ${change.activeSymbolIds.join(", ")}`);
  }
  if (received >= updateLimit) break;
}
