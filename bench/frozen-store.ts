// How a gateway on Redis behaves while Redis is frozen (SIGSTOP): how long
// /readyz still says 200, how long the first calls and publishes wait, and
// how long calls take once the freeze is noticed. The gateway runs in its own
// process with its default settings (REDIS_TIMEOUT_MS and the rest from the
// environment), on a private redis-server.
//
//   node --import tsx bench/frozen-store.ts [--trials N]
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../src/gen/stockify/v1/market_feed_service_pb.js";
import { startRedis } from "../test/support/redis-server.js";
import { startChild } from "./lib/child.js";
import { machineInfo } from "./lib/machine.js";

const { values } = parseArgs({ options: { trials: { type: "string", default: "5" } } });
const trials = Number(values.trials);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds a call takes to settle, whatever its outcome. */
async function settle(call: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await call().catch(() => undefined);
  return Math.round(performance.now() - started);
}

const machine = await machineInfo();
const redis = await startRedis();
const gateway = await startChild("peers/gateway.ts", { env: { REDIS_URL: redis.url } });
const baseUrl = `http://127.0.0.1:${Number(gateway.ready.port)}`;
const data = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
const feed = createClient(MarketFeedService, createGrpcTransport({ baseUrl }));
const ready = async () => (await fetch(`${baseUrl}/readyz`)).status;
const rows: Array<{ readyFor: number; firstCall: number; firstPublish: number; callAfter: number; publishAfter: number }> = [];
try {
  console.log(`node ${machine.node} on ${machine.cpuModel} x${machine.cores}; REDIS_TIMEOUT_MS=${process.env.REDIS_TIMEOUT_MS ?? "(default)"}`);
  for (let trial = 0; trial < trials; trial++) {
    while ((await ready()) !== 200) await sleep(20);
    await data.getSnapshot({ symbolId: 13 });
    redis.pause();
    const frozenAt = performance.now();
    try {
      const first = Promise.all([
        settle(() => data.getSnapshot({ symbolId: 13 }, { timeoutMs: 10_000 })),
        settle(() => feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24350 }] }, { timeoutMs: 10_000 })),
      ]);
      while ((await ready()) === 200) await sleep(10);
      const readyFor = Math.round(performance.now() - frozenAt);
      const [firstCall, firstPublish] = await first;
      const callAfter = await settle(() => data.getSnapshot({ symbolId: 13 }));
      const publishAfter = await settle(() => feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24350 }] }));
      rows.push({ readyFor, firstCall, firstPublish, callAfter, publishAfter });
      console.log(`trial ${trial + 1}: /readyz 200 for ${readyFor} ms of the freeze; first call ${firstCall} ms, first publish ${firstPublish} ms; then ${callAfter} ms and ${publishAfter} ms`);
    } finally {
      redis.resume();
    }
  }
  const worst = (key: keyof (typeof rows)[number]) => Math.max(...rows.map((row) => row[key]));
  console.log(
    `worst of ${trials}: /readyz 200 for ${worst("readyFor")} ms; first call ${worst("firstCall")} ms, first publish ${worst("firstPublish")} ms; ` +
      `after detection ${worst("callAfter")} ms and ${worst("publishAfter")} ms`,
  );
} finally {
  await gateway.stop();
  await redis.stop();
}
