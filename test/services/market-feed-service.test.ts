import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService, StreamTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GATEWAY_LANES } from "../support/transports.js";

for (const lane of GATEWAY_LANES) describe(`MarketFeedService (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway(lane.env);
  });
  after(() => gateway.close());

  for (const [index, transport] of lane.transports.entries()) {
    describe(`over ${transport.name}`, () => {
      // Each transport writes its own symbols, so the checks do not depend on order.
      const newSymbol = 50_000 + index;

      it("applies a batch of ticks, creating a symbol it has not seen", async () => {
        const feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
        const data = createClient(MarketDataService, transport.create(gateway.baseUrl));
        const before13 = (await data.getSnapshot({ symbolId: 13 })).snapshot!;
        const response = await feed.publishTicks({
          ticks: [
            { symbolId: 13, ltp: before13.ltp + 1, volume: 5n },
            { symbolId: newSymbol, ltp: 100, symbol: `NEW${newSymbol}`, bid: 99.95, ask: 100.05 },
            { symbolId: newSymbol, ltp: 101.5, volume: 7n },
          ],
        });
        assert.equal(response.acceptedCount, 3);
        assert.equal(response.sequences[13], before13.sequence + 1n);
        assert.equal(response.sequences[newSymbol], 2n);
        const created = (await data.getSnapshot({ symbolId: newSymbol })).snapshot!;
        assert.equal(created.symbol, `NEW${newSymbol}`);
        assert.equal(created.open, 100);
        assert.equal(created.high, 101.5);
        assert.equal(created.low, 100);
        assert.equal(created.ltp, 101.5);
        assert.equal(created.volume, 7n);
        assert.equal(created.bid, 99.95);
        const after13 = (await data.getSnapshot({ symbolId: 13 })).snapshot!;
        assert.equal(after13.volume, before13.volume + 5n);
      });

      it("rejects an invalid tick with INVALID_ARGUMENT and applies nothing of the batch", async () => {
        const feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
        const data = createClient(MarketDataService, transport.create(gateway.baseUrl));
        const before = (await data.getSnapshot({ symbolId: 25 })).snapshot!;
        const error = await feed
          .publishTicks({ ticks: [{ symbolId: 25, ltp: 1 }, { symbolId: 25, ltp: -5 }] })
          .then(() => assert.fail("accepted a negative price"), (e: unknown) => e);
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, Code.InvalidArgument);
        assert.match(error.rawMessage, /ticks\[1\]\.ltp/);
        const after = (await data.getSnapshot({ symbolId: 25 })).snapshot!;
        assert.equal(after.sequence, before.sequence);
      });

      it("takes a producer's book with its ticks, and refuses a side of more than five levels", async () => {
        const feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
        const symbolId = newSymbol + 200;
        const level = (price: number) => ({ price, quantity: 25n, orders: 1 });
        await feed.publishTicks({
          ticks: [{ symbolId, symbol: `BOOK${symbolId}`, ltp: 100, depth: { bids: [level(99.95), level(99.9)], asks: [level(100.05)] } }],
        });
        const snapshot = (await gateway.app.market.get(symbolId))!;
        assert.deepEqual(snapshot.depth, {
          bids: [
            { price: 99.95, quantity: 25, orders: 1 },
            { price: 99.9, quantity: 25, orders: 1 },
          ],
          asks: [{ price: 100.05, quantity: 25, orders: 1 }],
        });
        assert.deepEqual([snapshot.bid, snapshot.ask], [99.95, 100.05]);
        const error = await feed
          .publishTicks({ ticks: [{ symbolId, ltp: 100, depth: { bids: [99, 98, 97, 96, 95, 94].map(level) } }] })
          .then(() => assert.fail("accepted six bid levels"), (e: unknown) => e);
        assert.ok(error instanceof ConnectError);
        assert.equal(error.code, Code.InvalidArgument);
        assert.match(error.rawMessage, /ticks\[0\]\.depth\.bids holds 6 levels/);
      });

      if (transport.fullDuplex) {
        it("applies ticks from a client stream", async () => {
          const feed = createClient(MarketFeedService, transport.create(gateway.baseUrl));
          async function* producer() {
            for (let i = 0; i < 5; i++) {
              yield create(StreamTicksRequestSchema, { ticks: [{ symbolId: newSymbol + 100, symbol: `STREAM${newSymbol}`, ltp: 10 + i }] });
            }
          }
          const response = await feed.streamTicks(producer());
          assert.equal(response.acceptedCount, 5n);
          const snapshot = (await gateway.app.market.get(newSymbol + 100))!;
          assert.equal(snapshot.sequence, 5);
          assert.equal(snapshot.ltp, 14);
        });
      }
    });
  }
});
