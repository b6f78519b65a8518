// Server streaming: current snapshots, then every update as it happens.
import { MarketDataClient } from "@stockify/client";
import { exampleOptions, updateLimit } from "./connection.js";

await using client = new MarketDataClient(exampleOptions());

let received = 0;
const updates = client.subscribeSnapshots([13, 25, 27], {
  onGap: (gap) => console.log(`symbol ${gap.symbolId}: ${gap.missed} updates skipped`),
  onReconnect: (event) => console.log(`reconnecting (${event.error.code}), attempt ${event.attempt}`),
});
for await (const snapshot of updates) {
  console.log(`Symbol ${snapshot.symbolId}: ${snapshot.ltp} (seq ${snapshot.sequence})`);
  if (++received >= updateLimit) break;
}
