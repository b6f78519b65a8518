import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { watchSnapshots } from "../support/snapshot-stream.js";
import { waitFor } from "../support/transports.js";

const KEY_PREFIX = "replicas:";

function clients(baseUrl: string) {
  const transport = createGrpcTransport({ baseUrl });
  return { data: createClient(MarketDataService, transport), feed: createClient(MarketFeedService, transport) };
}

describe("gateway replicas on one Redis", () => {
  let redis: TestRedis;
  let a: TestGateway;
  let b: GatewayProcess;
  let c: TestGateway | undefined;

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX };
    a = await startGateway(env);
    // B runs as its own process, as a second replica would.
    b = await startGatewayProcess({ ...env, SIMULATOR: "off" });
    const bClient = clients(b.baseUrl).data;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await bClient.getSnapshot({ symbolId: 13 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });

  after(async () => {
    await c?.close();
    await a?.close();
    const code = await b?.stop();
    const client = redis.client();
    const keys = await client.keys(`${KEY_PREFIX}*`);
    if (keys.length > 0) await client.del(...keys);
    assert.deepEqual(await client.keys("*"), [], "no keys left behind");
    await redis.stop();
    assert.equal(code, 0, `replica B exits cleanly:\n${b?.output()}`);
  });

  it("delivers a tick published on A to a subscriber of B", async () => {
    const onB = watchSnapshots(b.baseUrl, [13]);
    await waitFor(() => onB.snapshots.length === 1, 5000, "B's initial snapshot");
    const initial = onB.snapshots[0]!.sequence;
    const { sequences } = await clients(a.baseUrl).feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24401.5 }] });
    assert.equal(sequences[13], initial + 1n);
    await waitFor(() => onB.snapshots.length === 2, 5000, "the update on B");
    await onB.stop();
    assert.equal(onB.snapshots[1]!.ltp, 24401.5);
    assert.equal(onB.snapshots[1]!.sequence, initial + 1n);
  });

  it("answers the same snapshots on both replicas, and on a replica started late", async () => {
    await clients(b.baseUrl).feed.publishTicks({ ticks: [{ symbolId: 25, ltp: 52222.25, volume: 7n }] });
    const ids = [13, 25, 27];
    const fromA = await clients(a.baseUrl).data.getBatchSnapshots({ symbolIds: ids });
    const fromB = await clients(b.baseUrl).data.getBatchSnapshots({ symbolIds: ids });
    assert.deepEqual(fromB, fromA);
    assert.equal(fromA.snapshots[25]!.ltp, 52222.25);

    // C does not seed: whatever it serves comes from Redis.
    c = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX }, { seed: [] });
    const fromC = await clients(c.baseUrl).data.getBatchSnapshots({ symbolIds: ids });
    assert.deepEqual(fromC, fromA);
    assert.deepEqual(
      (await clients(c.baseUrl).data.listSymbols({})).symbols.map((s) => s.symbol),
      ["NIFTY 50", "BANK NIFTY", "FIN NIFTY"],
    );
  });

  it("keeps every update, in sequence, when both replicas ingest one symbol at once", async () => {
    const watcher = watchSnapshots(a.baseUrl, [27]);
    await waitFor(() => watcher.snapshots.length === 1, 5000, "initial snapshot");
    const before = watcher.snapshots[0]!;
    const perReplica = 100;
    const feeds = [clients(a.baseUrl).feed, clients(b.baseUrl).feed];
    await Promise.all(
      feeds.map(async (feed, replica) => {
        for (let i = 0; i < perReplica; i += 4) {
          // Four calls in flight per replica, so writes interleave in Redis.
          await Promise.all(
            [0, 1, 2, 3].map((j) => feed.publishTicks({ ticks: [{ symbolId: 27, ltp: 23000 + replica + i + j, volume: 1n }] })),
          );
        }
      }),
    );
    const total = BigInt(2 * perReplica);
    const after = (await clients(b.baseUrl).data.getSnapshot({ symbolId: 27 })).snapshot!;
    assert.equal(after.sequence, before.sequence + total, "no update lost");
    assert.equal(after.volume, before.volume + total);
    await waitFor(() => watcher.snapshots.at(-1)!.sequence === after.sequence, 5000, "the last update streamed");
    await watcher.stop();
    const sequences = watcher.snapshots.map((s) => s.sequence);
    for (let i = 1; i < sequences.length; i++) {
      assert.ok(sequences[i]! > sequences[i - 1]!, `sequence ${sequences[i]} after ${sequences[i - 1]}`);
    }
  });

  it("reads a batch of 1000 symbols from Redis with one command", async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => 200_000 + i);
    await clients(a.baseUrl).feed.publishTicks({ ticks: ids.map((symbolId) => ({ symbolId, symbol: `R${symbolId}`, ltp: 10 })) });
    const client = redis.client();
    await client.config("RESETSTAT");
    const response = await clients(b.baseUrl).data.getBatchSnapshots({ symbolIds: ids });
    const stats = await client.info("commandstats");
    assert.equal(Object.keys(response.snapshots).length, 1000);
    assert.match(stats, /cmdstat_mget:calls=1,/);
    assert.doesNotMatch(stats, /cmdstat_(get|hget|hgetall|evalsha):/);
  });
});
