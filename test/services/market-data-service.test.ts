import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  MarketDataService,
  StreamMarketDataRequestSchema,
  type StreamMarketDataRequest,
  type StreamMarketDataResponse,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { expectCode } from "../support/expect-code.js";
import { GATEWAY_LANES, waitFor } from "../support/transports.js";

/** A request stream the test feeds while the call runs. */
function requestQueue() {
  const items: StreamMarketDataRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(action: MessageInitShape<typeof StreamMarketDataRequestSchema>["action"]) {
      items.push(create(StreamMarketDataRequestSchema, { action }));
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (items.length > 0) yield items.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

for (const lane of GATEWAY_LANES) describe(`MarketDataService (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ MAX_SYMBOLS_PER_CALL: "5", ...lane.env });
  });
  after(() => gateway.close());

  for (const transport of lane.transports) {
    describe(`over ${transport.name}`, () => {
      let client: Client<typeof MarketDataService>;
      before(() => {
        client = createClient(MarketDataService, transport.create(gateway.baseUrl));
      });

      it("returns the snapshot of a known symbol", async () => {
        const { snapshot } = await client.getSnapshot({ symbolId: 13 });
        assert.equal(snapshot?.symbolId, 13);
        assert.equal(snapshot?.symbol, "NIFTY 50");
        assert.ok(snapshot!.ltp > 0);
        assert.ok(snapshot!.sequence >= 1n);
        assert.ok(snapshot!.exchangeTime !== undefined);
      });

      it("answers twice from one encoding, and from a new one once the symbol moved", async () => {
        // Symbol 27 is this test's alone: the others read 13 and 25.
        const first = await client.getSnapshot({ symbolId: 27 });
        const again = await client.getSnapshot({ symbolId: 27 });
        assert.deepEqual(again, first);
        const ltp = first.snapshot!.ltp + 1;
        await gateway.app.market.ingest([{ symbolId: 27, ltp, volume: 1 }]);
        const moved = await client.getSnapshot({ symbolId: 27 });
        assert.equal(moved.snapshot?.ltp, ltp);
        assert.ok(moved.snapshot!.sequence > first.snapshot!.sequence);
      });

      it("answers NOT_FOUND for an unknown symbol and INVALID_ARGUMENT for 0", async () => {
        const notFound = await expectCode(client.getSnapshot({ symbolId: 424242 }), Code.NotFound);
        assert.match(notFound.rawMessage, /424242/);
        await expectCode(client.getSnapshot({ symbolId: 0 }), Code.InvalidArgument);
      });

      it("returns a batch, listing the ids it does not know", async () => {
        const response = await client.getBatchSnapshots({ symbolIds: [13, 25, 999, 27, 13] });
        assert.deepEqual(Object.keys(response.snapshots).map(Number).sort((a, b) => a - b), [13, 25, 27]);
        assert.equal(response.snapshots[25]?.symbol, "BANK NIFTY");
        assert.deepEqual(response.missingSymbolIds, [999]);
      });

      it("rejects a batch over the configured limit and an empty one", async () => {
        const error = await expectCode(client.getBatchSnapshots({ symbolIds: [1, 2, 3, 4, 5, 6] }), Code.InvalidArgument);
        assert.match(error.rawMessage, /limit is 5/);
        await expectCode(client.getBatchSnapshots({ symbolIds: [] }), Code.InvalidArgument);
      });

      it("lists the known symbols", async () => {
        const { symbols } = await client.listSymbols({});
        const ids = symbols.map((s) => s.symbolId);
        for (const id of [13, 25, 27]) assert.ok(ids.includes(id), `missing ${id}`);
      });

      it("streams the current snapshots, then pushed updates, and releases them on cancel", async () => {
        const abort = new AbortController();
        const stream = client.subscribeSnapshots({ symbolIds: [13, 27] }, { signal: abort.signal });
        const seen: Array<{ symbolId: number; ltp: number }> = [];
        const reading = (async () => {
          try {
            for await (const response of stream) {
              if (response.event.case !== "snapshot") continue;
              seen.push({ symbolId: response.event.value.symbolId, ltp: response.event.value.ltp });
            }
          } catch (error) {
            if (!(error instanceof ConnectError && error.code === Code.Canceled)) throw error;
          }
        })();
        await waitFor(() => seen.length >= 2, 5000, "initial snapshots");
        assert.deepEqual(seen.map((s) => s.symbolId).sort(), [13, 27]);
        const price = 20000 + Math.round(Math.random() * 1000);
        await gateway.app.market.ingest([{ symbolId: 27, ltp: price }, { symbolId: 25, ltp: 1 }]);
        await waitFor(() => seen.some((s) => s.symbolId === 27 && s.ltp === price), 5000, "pushed update");
        assert.ok(!seen.some((s) => s.symbolId === 25), "a symbol not subscribed was delivered");
        assert.ok(gateway.app.market.hub.subscriberCount(13) >= 1);
        abort.abort();
        await reading;
        await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "subscriptions released");
      });

      it("rejects a stream naming an unknown symbol with NOT_FOUND", async () => {
        const stream = client.subscribeSnapshots({ symbolIds: [13, 777] });
        await expectCode(
          (async () => {
            for await (const _ of stream) void _;
          })(),
          Code.NotFound,
        );
        await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "subscriptions released");
      });

      if (transport.fullDuplex) {
        it("subscribes and unsubscribes while a bidirectional stream runs", async () => {
          const requests = requestQueue();
          const abort = new AbortController();
          const responses = client.streamMarketData(requests, { signal: abort.signal })[Symbol.asyncIterator]();
          const next = async (): Promise<StreamMarketDataResponse["event"]> => {
            for (;;) {
              const result = await responses.next();
              assert.ok(result.done !== true, "stream ended early");
              if (result.value.event.case !== "heartbeat") return result.value.event;
            }
          };

          requests.push({ case: "subscribe", value: { symbolIds: [13, 888] } });
          const first = await next();
          assert.equal(first.case, "symbolError");
          assert.deepEqual(first.case === "symbolError" && first.value.symbolIds, [888]);
          const ack = await next();
          assert.equal(ack.case, "subscription");
          assert.deepEqual(ack.case === "subscription" && ack.value.activeSymbolIds, [13]);
          const initial = await next();
          assert.equal(initial.case === "snapshot" && initial.value.symbolId, 13);

          requests.push({ case: "subscribe", value: { symbolIds: [25] } });
          const ack25 = await next();
          assert.deepEqual(ack25.case === "subscription" && ack25.value.activeSymbolIds, [13, 25]);
          const initial25 = await next();
          assert.equal(initial25.case === "snapshot" && initial25.value.symbolId, 25);

          requests.push({ case: "unsubscribe", value: { symbolIds: [13] } });
          const ack13 = await next();
          assert.deepEqual(ack13.case === "subscription" && ack13.value.unsubscribedSymbolIds, [13]);
          assert.deepEqual(ack13.case === "subscription" && ack13.value.activeSymbolIds, [25]);
          await gateway.app.market.ingest([{ symbolId: 13, ltp: 11111 }, { symbolId: 25, ltp: 22222 }]);
          const update = await next();
          assert.equal(update.case, "snapshot");
          assert.equal(update.case === "snapshot" && update.value.symbolId, 25, "an unsubscribed symbol was delivered");
          assert.equal(update.case === "snapshot" && update.value.ltp, 22222);

          abort.abort();
          await responses.return?.();
          await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "subscriptions released");
        });
      }
    });
  }
});
