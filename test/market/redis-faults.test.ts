import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { watchSnapshots } from "../support/snapshot-stream.js";
import { waitFor } from "../support/transports.js";

function dataClient(baseUrl: string): Client<typeof MarketDataService> {
  return createClient(MarketDataService, createGrpcTransport({ baseUrl }));
}

async function readiness(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/readyz`)).status;
}

/** Polls an async condition until it holds. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("gateways when Redis goes away and comes back", () => {
  let redis: TestRedis;
  let a: TestGateway;
  let closing: TestGateway;
  let b: GatewayProcess;

  before(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, HEARTBEAT_INTERVAL_MS: "50" };
    a = await startGateway(env);
    closing = await startGateway({ ...env, STREAMS_ON_STORE_LOSS: "close" }, { seed: [] });
    b = await startGatewayProcess({ ...env, SIMULATOR: "off" });
    await eventually(async () => (await readiness(b.baseUrl)) === 200, "replica B ready");
  });

  after(async () => {
    await closing?.close();
    await a?.close();
    const code = await b?.stop();
    await redis.stop();
    assert.equal(code, 0, `replica B exits cleanly:\n${b?.output()}`);
  });

  it("goes NOT_SERVING, fails calls fast with UNAVAILABLE, keeps or ends streams by config, and recovers by itself", async () => {
    const kept = watchSnapshots(b.baseUrl, [13]);
    const ended = watchSnapshots(closing.baseUrl, [13]);
    await waitFor(() => kept.snapshots.length === 1 && ended.snapshots.length === 1, 5000, "streams open");

    // Unary load on A for the whole outage: every call succeeds or fails
    // with UNAVAILABLE, none hangs until its deadline.
    const client = dataClient(a.baseUrl);
    const outcomes = new Map<string, number>();
    let loading = true;
    const load = Promise.all(
      [0, 1, 2, 3].map(async () => {
        while (loading) {
          const outcome = await client.getSnapshot({ symbolId: 13 }, { timeoutMs: 5000 }).then(
            () => "OK",
            (error: unknown) => (error instanceof ConnectError ? Code[error.code] : String(error)),
          );
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          if (outcome !== "OK") await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );

    // The load stops however this part ends: a failed check must not leave
    // it calling a closed gateway forever, holding the whole test run.
    try {
      await waitFor(() => (outcomes.get("OK") ?? 0) > 0, 5000, "calls served before the outage");
      await redis.kill();
      await waitFor(() => !a.app.market.store.healthy, 5000, "A's store unhealthy");
      assert.equal(await readiness(a.baseUrl), 503);
      await eventually(async () => (await readiness(b.baseUrl)) === 503, "replica B not ready");

      const started = Date.now();
      await expectCode(dataClient(b.baseUrl).getSnapshot({ symbolId: 13 }), Code.Unavailable);
      await expectCode(dataClient(b.baseUrl).getBatchSnapshots({ symbolIds: [13, 25] }), Code.Unavailable);
      await expectCode(dataClient(b.baseUrl).listSymbols({}), Code.Unavailable);
      await expectCode(
        createClient(MarketFeedService, createGrpcTransport({ baseUrl: b.baseUrl })).publishTicks({
          ticks: [{ symbolId: 13, ltp: 1 }],
        }),
        Code.Unavailable,
      );
      await expectCode(dataClient(b.baseUrl).subscribeSnapshots({ symbolIds: [13] })[Symbol.asyncIterator]().next(), Code.Unavailable);
      assert.ok(Date.now() - started < 3000, "calls fail at once rather than waiting for Redis");

      await waitFor(() => ended.done, 5000, "the stream of the close-policy gateway to end");
      assert.ok(ended.error instanceof ConnectError);
      assert.equal(ended.error.code, Code.Unavailable);

      const beats = kept.heartbeats;
      await waitFor(() => kept.heartbeats > beats + 2, 5000, "heartbeats on the kept stream during the outage");
      assert.equal(kept.done, false, "the kept stream stays open");
      assert.equal(b.child.exitCode, null, "replica B is still running");

      await waitFor(() => (outcomes.get("Unavailable") ?? 0) > 10, 5000, "calls during the outage");
    } finally {
      loading = false;
    }
    await load;

    await redis.restart();
    await waitFor(() => a.app.market.store.healthy, 10_000, "A's store healthy again");
    await eventually(async () => (await readiness(b.baseUrl)) === 200, "replica B ready again");

    // The restarted Redis is empty: producers start the symbol over, and the
    // stream opened before the outage follows the new numbering.
    await createClient(MarketFeedService, createGrpcTransport({ baseUrl: a.baseUrl })).publishTicks({
      ticks: [{ symbolId: 13, symbol: "NIFTY 50", ltp: 24555 }],
    });
    await waitFor(() => kept.snapshots.at(-1)?.ltp === 24555, 5000, "the update on the kept stream");
    assert.equal(kept.snapshots.at(-1)!.sequence, 1n);
    assert.equal((await dataClient(b.baseUrl).getSnapshot({ symbolId: 13 })).snapshot!.ltp, 24555);
    await kept.stop();

    const seen = [...outcomes.keys()].sort();
    assert.deepEqual(seen, ["OK", "Unavailable"], `only successes and UNAVAILABLE: ${JSON.stringify([...outcomes])}`);
  });

  it("starts while Redis is down, says so, and serves once Redis appears", async () => {
    const late = await startRedis();
    await late.kill();
    const gateway = await startGatewayProcess({ REDIS_URL: late.url, SIMULATOR: "on", SIMULATOR_SYMBOLS: "0" });
    try {
      assert.equal(await readiness(gateway.baseUrl), 503);
      await expectCode(dataClient(gateway.baseUrl).getSnapshot({ symbolId: 13 }), Code.Unavailable);
      await eventually(async () => gateway.output().includes("Redis unavailable; retrying"), "the log to say why");
      await late.restart();
      await eventually(async () => (await readiness(gateway.baseUrl)) === 200, "ready once Redis is up");
      // The simulator seeded its symbols as soon as the store took writes.
      await eventually(
        async () => (await dataClient(gateway.baseUrl).getSnapshot({ symbolId: 13 })).snapshot?.symbol === "NIFTY 50",
        "the simulator's prices",
      );
      assert.match(gateway.output(), /Redis connected/);
    } finally {
      const code = await gateway.stop();
      await late.stop();
      assert.equal(code, 0, gateway.output());
    }
  });
});

describe("a gateway whose Redis freezes (SIGSTOP)", () => {
  let redis: TestRedis;
  let gateway: TestGateway;

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: "1000", SIMULATOR: "off" });
    await createClient(MarketFeedService, createGrpcTransport({ baseUrl: gateway.baseUrl })).publishTicks({
      ticks: [{ symbolId: 13, symbol: "NIFTY 50", ltp: 24350 }],
    });
  });

  after(async () => {
    redis?.resume();
    await gateway?.close();
    await redis?.stop();
  });

  it("turns NOT_SERVING within REDIS_TIMEOUT_MS, fails calls and publishes at once until Redis answers, then serves again", async () => {
    const client = dataClient(gateway.baseUrl);
    const feed = createClient(MarketFeedService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    assert.equal(await readiness(gateway.baseUrl), 200);
    redis.pause();
    const frozenAt = Date.now();
    try {
      await eventually(async () => (await readiness(gateway.baseUrl)) === 503, "/readyz 503", 5000);
      const noticedAfter = Date.now() - frozenAt;
      assert.ok(noticedAfter <= 1400, `/readyz said 200 for ${noticedAfter} ms of a freeze; the bound is 1000 ms`);
      for (const call of [
        () => client.getSnapshot({ symbolId: 13 }),
        () => client.listSymbols({}),
        () => feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24351 }] }),
      ]) {
        const started = Date.now();
        await expectCode(call(), Code.Unavailable);
        assert.ok(Date.now() - started < 200, `a call during the freeze took ${Date.now() - started} ms`);
      }
    } finally {
      redis.resume();
    }
    await eventually(async () => (await readiness(gateway.baseUrl)) === 200, "ready once Redis answers");
    const { snapshot } = await client.getSnapshot({ symbolId: 13 });
    assert.equal(snapshot!.ltp, 24350, "the publish refused during the freeze was not applied");
    await feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24352 }] });
    assert.equal((await client.getSnapshot({ symbolId: 13 })).snapshot!.ltp, 24352);
  });
});
