// npm run bench:redis -- [--seconds S] [--rate N]
// Measures what sharing state through Redis costs: publish-to-subscriber
// latency within one in-memory gateway, within one Redis-backed gateway, and
// across two Redis-backed gateways (tick into A, subscriber on B); then
// ingest throughput into the Redis store by batch size, against the
// in-memory store. Each gateway runs in its own process; redis-server is a
// private instance on a free loopback port, removed afterwards.
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../src/gen/stockify/v1/market_data_service_pb.js";
import { MemorySnapshotStore } from "../src/market/memory-store.js";
import { createRedisSnapshotStore } from "../src/market/redis-store.js";
import type { SnapshotStore } from "../src/market/snapshot-store.js";
import type { Tick } from "../src/market/snapshot.js";
import { startRedis } from "../test/support/redis-server.js";
import { startChild, type Child } from "./lib/child.js";
import { machineInfo } from "./lib/machine.js";
import { summarize, type LatencySummary } from "./lib/stats.js";
import { monotonicMicros } from "./peers/bench-market.js";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "5" }, rate: { type: "string", default: "500" } },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const log = (line: string) => process.stderr.write(`[bench:redis] ${line}\n`);

/** Subscribes on `subscriber`, feeds paced ticks into `publisher`, and returns the latencies seen. */
async function pushLatency(publisher: Child, subscriberPort: number): Promise<LatencySummary> {
  const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${subscriberPort}` }));
  const controller = new AbortController();
  const samplesMs: number[] = [];
  let measuring = false;
  let ready!: () => void;
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  const reading = (async () => {
    try {
      for await (const response of client.subscribeSnapshots({ symbolIds: [13] }, { signal: controller.signal })) {
        if (response.event.case !== "snapshot") continue;
        ready();
        // The feed stamps each tick's publish time (monotonic µs) in bid_size.
        if (measuring) samplesMs.push((monotonicMicros() - Number(response.event.value.bidSize)) / 1000);
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })();
  await subscribed;
  // A second of warm-up, then the measured run.
  await publisher.request("feed", { durationMs: 1000, ratePerSecond: rate, symbolIds: [13] });
  measuring = true;
  await publisher.request("feed", { durationMs: seconds * 1000, ratePerSecond: rate, symbolIds: [13] });
  await new Promise((resolve) => setTimeout(resolve, 200));
  controller.abort();
  await reading;
  return summarize(samplesMs);
}

/** Applies batches of `batch` ticks, `concurrency` batches in flight, for the run's duration. */
async function ingestRate(store: SnapshotStore, batch: number, concurrency: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let applied = 0;
  let price = 100;
  const worker = async () => {
    while (performance.now() < deadline) {
      const ticks: Tick[] = [];
      for (let i = 0; i < batch; i++) {
        price = price >= 200 ? 100 : price + 0.05;
        ticks.push({ symbolId: 1 + ((applied + i) % 1000), ltp: price, volume: 1 });
      }
      await store.apply(ticks);
      applied += batch;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return Math.round(applied / ((performance.now() - started) / 1000));
}

const machine = await machineInfo();
const redis = await startRedis();
const children: Child[] = [];
try {
  log(`node ${machine.node} on ${machine.cpuModel} x${machine.cores}; redis on port ${redis.port}`);
  const memory = await startChild("peers/gateway.ts");
  const onRedis = { env: { REDIS_URL: redis.url } };
  const a = await startChild("peers/gateway.ts", onRedis);
  const b = await startChild("peers/gateway.ts", onRedis);
  children.push(memory, a, b);
  const port = (child: Child) => Number(child.ready.port);

  const latency = [
    { path: "one gateway, in memory", summary: await pushLatency(memory, port(memory)) },
    { path: "one gateway, through Redis", summary: await pushLatency(a, port(a)) },
    { path: "across replicas (A → Redis → B)", summary: await pushLatency(a, port(b)) },
  ];

  // The gateways would decode every ingested update too: stop them first.
  await Promise.all(children.splice(0).map((c) => c.stop()));
  const ingest: Array<{ batch: number; memory: number; redis: number }> = [];
  const redisStore = createRedisSnapshotStore({ url: redis.url, keyPrefix: "bench-ingest:" });
  await redisStore.waitUntilHealthy(5000);
  const memoryStore = new MemorySnapshotStore();
  for (const batch of [1, 10, 100, 1000]) {
    ingest.push({ batch, memory: await ingestRate(memoryStore, batch, 8), redis: await ingestRate(redisStore, batch, 8) });
    log(`ingest batch ${batch} done`);
  }
  await redisStore.close();

  const lines = [
    `Redis scaling, ${new Date().toISOString()}, node ${machine.node}, ${machine.cpuModel} x${machine.cores}, ` +
      `load average ${machine.loadAverage.join(" ")}, ${seconds} s per measurement, paced feed ${rate} ticks/s`,
    "",
    "| Publish → subscriber | p50 ms | p90 ms | p99 ms | samples |",
    "|---|---:|---:|---:|---:|",
    ...latency.map(({ path, summary: s }) => `| ${path} | ${s.p50Ms} | ${s.p90Ms} | ${s.p99Ms} | ${s.count} |`),
    "",
    "| Ingest, batch size (8 batches in flight) | in memory, ticks/s | Redis, ticks/s |",
    "|---:|---:|---:|",
    ...ingest.map((r) => `| ${r.batch} | ${r.memory.toLocaleString("en")} | ${r.redis.toLocaleString("en")} |`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await redis.stop();
}
