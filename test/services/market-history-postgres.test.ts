import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../src/gen/grpc/health/v1/health_pb.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { MarketHistoryService } from "../../src/gen/stockify/v1/market_history_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { startPostgres, type TestPostgres } from "../support/postgres-server.js";
import { waitFor } from "../support/transports.js";

const T0 = Date.UTC(2026, 11, 1, 9, 15, 0);
const SYMBOL = 601;

describe("MarketHistoryService on PostgreSQL (DATABASE_URL)", () => {
  let database: TestPostgres;
  let gateway: TestGateway;
  let history: Client<typeof MarketHistoryService>;
  let feed: Client<typeof MarketFeedService>;
  let health: Client<typeof Health>;
  let published = 0;
  const range = { startTime: timestampFromMs(T0), endTime: timestampFromMs(T0 + 3_600_000) };

  before(async () => {
    database = await startPostgres();
    gateway = await startGateway({ DATABASE_URL: database.url, HISTORY_FLUSH_MS: "5" });
    const transport = createGrpcTransport({ baseUrl: gateway.baseUrl });
    history = createClient(MarketHistoryService, transport);
    feed = createClient(MarketFeedService, transport);
    health = createClient(Health, transport);
  });
  after(async () => {
    await gateway?.close();
    await database?.stop();
  });

  // Each tick one second after the one before, a price that counts them.
  async function publish(count: number): Promise<void> {
    const ticks = [];
    for (let i = 0; i < count; i++) {
      published++;
      ticks.push({ symbolId: SYMBOL, symbol: "PG TEST", ltp: 1000 + published, volume: 2n, exchangeTime: timestampFromMs(T0 + published * 1000) });
    }
    await feed.publishTicks({ ticks });
  }

  async function storedTicks(): Promise<number> {
    const { candles } = await history.getCandles({ symbolId: SYMBOL, interval: "1m", ...range });
    return candles.reduce((sum, c) => sum + Number(c.tickCount), 0);
  }

  async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const held = await condition().catch(() => false);
      if (held) return;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("writes published ticks to PostgreSQL and reads exact candles back", async () => {
    await publish(30);
    await eventually(async () => (await storedTicks()) === 30, "30 ticks in the database");
    const { candles } = await history.getCandles({ symbolId: SYMBOL, interval: "1m", ...range });
    assert.equal(candles.length, 1);
    const bar = candles[0]!;
    assert.deepEqual([bar.open, bar.high, bar.low, bar.close, bar.volume, bar.tickCount], [1001, 1030, 1001, 1030, 60n, 30n]);
    const page = await history.getTicks({ symbolId: SYMBOL, ...range, pageSize: 20 });
    assert.equal(page.ticks.length, 20);
    const rest = await history.getTicks({ symbolId: SYMBOL, ...range, pageSize: 20, pageToken: page.nextPageToken });
    assert.deepEqual(rest.ticks.map((t) => Number(t.sequence)), Array.from({ length: 10 }, (_, i) => 21 + i));
    assert.equal(rest.nextPageToken, "");
  });

  it("keeps live prices flowing while the database is down, answers UNAVAILABLE, and writes again once it is back", async () => {
    const abort = new AbortController();
    const seen: number[] = [];
    const live = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    const reading = (async () => {
      try {
        for await (const event of live.subscribeSnapshots({ symbolIds: [SYMBOL] }, { signal: abort.signal })) {
          if (event.event.case === "snapshot") seen.push(event.event.value.ltp);
        }
      } catch (error) {
        if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
      }
    })();
    try {
      await waitFor(() => seen.length >= 1, 5000, "the current snapshot");
      await database.kill();
      await publish(10);
      await waitFor(() => seen.includes(1040), 5000, "live updates during the outage");
      await eventually(
        async () => (await health.check({ service: "stockify.v1.MarketHistoryService" })).status === Serving.NOT_SERVING,
        "the history service to turn NOT_SERVING",
      );
      await assert.rejects(history.getCandles({ symbolId: SYMBOL, interval: "1m", ...range }), (error: ConnectError) => error.code === Code.Unavailable);
      assert.equal((await health.check({ service: "" })).status, Serving.SERVING);
      assert.equal((await fetch(`${gateway.baseUrl}/readyz`)).status, 200);
      await publish(5);
      await waitFor(() => seen.includes(1045), 5000, "more live updates during the outage");

      await database.restart();
      await eventually(async () => (await storedTicks()) === 45, "the queued ticks written after the restart");
      assert.equal((await health.check({ service: "stockify.v1.MarketHistoryService" })).status, Serving.SERVING);
    } finally {
      abort.abort();
      await reading;
    }
  });
});
