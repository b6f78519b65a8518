import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GATEWAY_LANES } from "../support/transports.js";

const TOKENS = "reader-secret:read,writer-secret:read+write,admin-secret:read+write+admin";
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

// Proto3 Timestamps of 0001-01-01 and 9999-12-31, the ends of their range.
const YEAR_1 = { seconds: -62_135_596_800n, nanos: 0 };
const YEAR_9999 = { seconds: 253_402_300_799n, nanos: 0 };
const timestamp = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });

for (const lane of GATEWAY_LANES) describe(`the tick policy of PublishTicks (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    // The gateway's own defaults, which the test helper turns off.
    gateway = await startGateway({ ...lane.env, PRICE_BAND_PERCENT: "", TICK_TIME_WINDOW_MS: "" });
  });
  after(() => gateway.close());

  for (const [index, transport] of lane.transports.entries()) {
    describe(`over ${transport.name}`, () => {
      let feed: Client<typeof MarketFeedService>;
      let data: Client<typeof MarketDataService>;
      // Each transport publishes to its own symbol, seeded at 100.
      const symbolId = 60_000 + index;
      before(async () => {
        feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
        data = createClient(MarketDataService, transport.create(gateway.baseUrl));
        await gateway.app.market.ingest([{ symbolId, symbol: `POLICY${index}`, ltp: 100, bid: 99.9, ask: 100.1, exchangeTimeMs: Date.now() - 1000 }]);
      });

      async function refused(ticks: Parameters<typeof feed.publishTicks>[0]["ticks"], field: RegExp): Promise<void> {
        const before = (await data.getSnapshot({ symbolId })).snapshot!;
        const error = await expectCode(feed.publishTicks({ ticks }), Code.InvalidArgument);
        assert.match(error.rawMessage, field);
        const after = (await data.getSnapshot({ symbolId })).snapshot!;
        assert.equal(after.sequence, before.sequence, "a refused batch applies none of its ticks");
        assert.equal(after.ltp, before.ltp);
      }

      it("refuses prices outside the band around the previous close, naming the field", async () => {
        await refused([{ symbolId, ltp: 1e308 }], /^ticks\[0\]\.ltp 1e\+308 is outside the 20% band around the previous close 100 \(80 to 120\)$/);
        await refused([{ symbolId, ltp: 5e-324 }], /^ticks\[0\]\.ltp 5e-324 is outside the 20% band/);
        await refused([{ symbolId, ltp: 101, ask: 130 }], /^ticks\[0\]\.ask 130 is outside/);
        await refused(
          [{ symbolId, ltp: 101, depth: { bids: [{ price: 100.9, quantity: 1n, orders: 1 }, { price: 50, quantity: 1n, orders: 1 }], asks: [] } }],
          /^ticks\[0\]\.depth\.bids\[1\]\.price 50 is outside/,
        );
      });

      it("refuses a crossed quote", async () => {
        await refused([{ symbolId, ltp: 100, bid: 100.5, ask: 100.2 }], /^ticks\[0\]\.bid 100\.5 is above ticks\[0\]\.ask 100\.2: a crossed quote$/);
      });

      it("refuses an exchange_time far from now or going backwards", async () => {
        await refused([{ symbolId, ltp: 100, exchangeTime: YEAR_1 }], /^ticks\[0\]\.exchange_time 0001-01-01T00:00:00\.000Z is more than 86400000 ms from/);
        await refused([{ symbolId, ltp: 100, exchangeTime: YEAR_9999 }], /^ticks\[0\]\.exchange_time 9999-12-31/);
        const now = Date.now();
        await refused(
          [
            { symbolId, ltp: 100.5, exchangeTime: timestamp(now) },
            { symbolId, ltp: 100.6, exchangeTime: timestamp(now - 5000) },
          ],
          /^ticks\[1\]\.exchange_time .* goes back from the symbol's /,
        );
      });

      it("applies the whole batch when every tick passes, and keeps serving after refusals", async () => {
        const before = (await data.getSnapshot({ symbolId })).snapshot!;
        const now = Date.now();
        const response = await feed.publishTicks({
          ticks: [
            { symbolId, ltp: 119.5, bid: 119.4, ask: 119.6, exchangeTime: timestamp(now) },
            { symbolId, ltp: 80.5, exchangeTime: timestamp(now) },
          ],
        });
        assert.equal(response.acceptedCount, 2);
        assert.equal(response.sequences[symbolId], before.sequence + 2n);
      });
    });
  }
});

describe("the tick policy's configuration", () => {
  it("accepts any positive price with PRICE_BAND_PERCENT=0 and any time with TICK_TIME_WINDOW_MS=0", async () => {
    const gateway = await startGateway({ PRICE_BAND_PERCENT: "0", TICK_TIME_WINDOW_MS: "0" });
    try {
      const feed = createClient(MarketFeedService, GATEWAY_LANES[0]!.transports[0]!.create(gateway.baseUrl));
      const response = await feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24350 * 3, exchangeTime: YEAR_9999 }] });
      assert.equal(response.acceptedCount, 1);
    } finally {
      await gateway.close();
    }
  });

  it("narrows the band with PRICE_BAND_PERCENT", async () => {
    const gateway = await startGateway({ PRICE_BAND_PERCENT: "5", TICK_TIME_WINDOW_MS: "" });
    try {
      const feed = createClient(MarketFeedService, GATEWAY_LANES[0]!.transports[0]!.create(gateway.baseUrl));
      const error = await expectCode(feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24350 * 1.06 }] }), Code.InvalidArgument);
      assert.match(error.rawMessage, /ticks\[0\]\.ltp .* outside the 5% band/);
      assert.equal((await feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24350 * 1.04 }] })).acceptedCount, 1);
    } finally {
      await gateway.close();
    }
  });
});

for (const lane of GATEWAY_LANES) describe(`creating and renaming symbols (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, AUTH_TOKENS: TOKENS, PRICE_BAND_PERCENT: "", TICK_TIME_WINDOW_MS: "" });
  });
  after(() => gateway.close());

  for (const [index, transport] of lane.transports.entries()) {
    describe(`over ${transport.name}`, () => {
      let feed: Client<typeof MarketFeedService>;
      let data: Client<typeof MarketDataService>;
      const newSymbol = 70_000 + index;
      before(() => {
        feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
        data = createClient(MarketDataService, transport.create(gateway.baseUrl));
      });

      it("refuses a write token creating a symbol with PERMISSION_DENIED naming the admin scope, and creates nothing", async () => {
        const error = await expectCode(
          feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24351 }, { symbolId: newSymbol, symbol: "NEW", ltp: 10 }] }, bearer("writer-secret")),
          Code.PermissionDenied,
        );
        assert.match(error.rawMessage, /^ticks\[1\] would create symbol \d+, which is not known: creating or renaming a symbol needs the "admin" scope$/);
        await expectCode(data.getSnapshot({ symbolId: newSymbol }, bearer("reader-secret")), Code.NotFound);
        // Ticks for known symbols are what a write token is for.
        assert.equal((await feed.publishTicks({ ticks: [{ symbolId: 13, ltp: 24352 }] }, bearer("writer-secret"))).acceptedCount, 1);
      });

      it("refuses a write token renaming a symbol, and takes the same name again", async () => {
        const error = await expectCode(
          feed.publishTicks({ ticks: [{ symbolId: 25, symbol: "SOMETHING ELSE", ltp: 52100 }] }, bearer("writer-secret")),
          Code.PermissionDenied,
        );
        assert.match(error.rawMessage, /would rename symbol 25 from "BANK NIFTY".*needs the "admin" scope/);
        await feed.publishTicks({ ticks: [{ symbolId: 25, symbol: "BANK NIFTY", ltp: 52100 }] }, bearer("writer-secret"));
        assert.equal((await data.getSnapshot({ symbolId: 25 }, bearer("reader-secret"))).snapshot!.symbol, "BANK NIFTY");
      });

      it("lets an admin token create a named symbol and rename it, but not create one without a name", async () => {
        const unnamed = await expectCode(
          feed.publishTicks({ ticks: [{ symbolId: newSymbol, ltp: 10 }] }, bearer("admin-secret")),
          Code.InvalidArgument,
        );
        assert.match(unnamed.rawMessage, /^ticks\[0\]\.symbol must name the new symbol \d+$/);
        await expectCode(
          feed.publishTicks({ ticks: [{ symbolId: newSymbol, symbol: "   ", ltp: 10 }] }, bearer("admin-secret")),
          Code.InvalidArgument,
        );
        await feed.publishTicks({ ticks: [{ symbolId: newSymbol, symbol: `NEW${index}`, ltp: 10 }] }, bearer("admin-secret"));
        assert.equal((await data.getSnapshot({ symbolId: newSymbol }, bearer("reader-secret"))).snapshot!.symbol, `NEW${index}`);
        await feed.publishTicks({ ticks: [{ symbolId: newSymbol, symbol: `RENAMED${index}`, ltp: 10.5 }] }, bearer("admin-secret"));
        const renamed = (await data.getSnapshot({ symbolId: newSymbol }, bearer("reader-secret"))).snapshot!;
        assert.deepEqual([renamed.symbol, renamed.ltp], [`RENAMED${index}`, 10.5]);
      });
    });
  }

  it("holds StreamTicks to the same rights: a write token's stream that would create a symbol ends with PERMISSION_DENIED", async () => {
    const transport = lane.transports.find((t) => t.fullDuplex)!;
    const feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
    async function* ticks(symbolId: number) {
      yield { ticks: [{ symbolId: 13, ltp: 24353 }] };
      yield { ticks: [{ symbolId, symbol: "STREAMED", ltp: 10 }] };
    }
    const error = await expectCode(feed.streamTicks(ticks(78_000), bearer("writer-secret")), Code.PermissionDenied);
    assert.match(error.rawMessage, /ticks\[0\] would create symbol 78000.*needs the "admin" scope/);
    assert.equal((await feed.streamTicks(ticks(78_001), bearer("admin-secret"))).acceptedCount, 2n);
  });

  it("answers REST with 403 naming the admin scope for a write token creating a symbol, and 400 for an implausible price", async () => {
    const post = (token: string, body: unknown) =>
      fetch(`${gateway.baseUrl}/v1/ticks`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const denied = await post("writer-secret", { ticks: [{ symbolId: 79_999, symbol: "NEW", ltp: 10 }] });
    assert.equal(denied.status, 403);
    assert.match(JSON.stringify(await denied.json()), /needs the \\"admin\\" scope/);
    const implausible = await post("writer-secret", { ticks: [{ symbolId: 27, ltp: 1e308 }] });
    assert.equal(implausible.status, 400);
    assert.match(JSON.stringify(await implausible.json()), /ticks\[0\]\.ltp 1e\+308 is outside the 20% band/);
    const created = await post("admin-secret", { ticks: [{ symbolId: 79_999, symbol: "NEW", ltp: 10 }] });
    assert.equal(created.status, 200, await created.text());
  });
});
