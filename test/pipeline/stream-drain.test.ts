import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { service as healthServiceDefinition } from "grpc-health-check";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { StreamDrain } from "../../src/pipeline/stream-drain.js";
import { isPushedStream, pushedStream, pushMessages } from "../../src/pipeline/pushed-stream.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { SwitchableStore } from "../support/switchable-store.js";
import { waitFor } from "../support/transports.js";

/** A client-side request stream that stays open until the test ends it. */
function openRequests<T>(first: T): AsyncIterable<T> & { end(): void } {
  let release: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => (release = resolve));
  return {
    end: () => release?.(),
    async *[Symbol.asyncIterator]() {
      yield first;
      await ended;
    },
  };
}

async function drainStream(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // Reading until the server ends the stream.
  }
}

for (const lane of GRPC_LANES) describe(`closing the gateway (${lane.name})`, () => {
  let gateway: TestGateway;
  let store: SwitchableStore;
  beforeEach(async () => {
    store = new SwitchableStore();
    gateway = await startGateway({ ...lane.env }, { store });
  });
  afterEach(() => gateway.close());

  it("ends open streams of every protocol with UNAVAILABLE and turns health NOT_SERVING first", async () => {
    const baseUrl = gateway.baseUrl;
    const grpcData = createClient(MarketDataService, createGrpcTransport({ baseUrl }));
    const connectData = createClient(MarketDataService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const webData = createClient(MarketDataService, createGrpcWebTransport({ baseUrl, httpVersion: "2" }));
    const grpcFeed = createClient(MarketFeedService, createGrpcTransport({ baseUrl }));

    const subscribeRequest = { symbolIds: [13] };
    const serverStreams = [grpcData, connectData, webData].map((client) => client.subscribeSnapshots(subscribeRequest));
    const bidiRequests = openRequests({ action: { case: "subscribe" as const, value: { symbolIds: [25] } } });
    const bidi = grpcData.streamMarketData(bidiRequests);
    const tickRequests = openRequests({ ticks: [{ symbolId: 27, ltp: 1 }] });
    const clientStream = grpcFeed.streamTicks(tickRequests);

    const HealthClient = grpc.makeClientConstructor(healthServiceDefinition, "Health");
    const health = new HealthClient(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
    const watch = (health as unknown as Record<string, (...args: unknown[]) => unknown>).watch!({ service: "" }) as grpc.ClientReadableStream<{ status: string }>;
    const statuses: string[] = [];
    let watchEnd: grpc.ServiceError | undefined;
    watch.on("data", (reply: { status: string }) => statuses.push(reply.status));
    watch.on("error", (error: grpc.ServiceError) => (watchEnd = error));

    try {
      const ended = [
        ...serverStreams.map((stream) => expectCode(drainStream(stream), Code.Unavailable)),
        expectCode(drainStream(bidi), Code.Unavailable),
        expectCode(clientStream, Code.Unavailable),
      ];
      await waitFor(() => gateway.app.market.hub.subscriptionCount === 4 && statuses.length === 1, 5000, "every stream to open");
      await waitFor(() => gateway.app.market.get(27) !== undefined, 5000);

      await gateway.close();
      const errors = await Promise.all(ended);
      for (const error of errors) assert.match(error.message, /shutting down/);
      await waitFor(() => watchEnd !== undefined, 5000, "the health watch to end");
      assert.deepEqual(statuses, ["SERVING", "NOT_SERVING"]);
      assert.equal(watchEnd!.code, grpc.status.UNAVAILABLE);
      assert.equal(gateway.app.market.hub.subscriptionCount, 0);
    } finally {
      bidiRequests.end();
      tickRequests.end();
      health.close();
    }
  });

  it("lets a unary call in flight finish", async () => {
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    store.holdReads();
    const reply = client.getSnapshot({ symbolId: 13 });
    await waitFor(() => store.heldReads === 1, 5000, "the call to reach the store");
    let closed = false;
    const closing = gateway.close().then(() => (closed = true));
    await waitFor(() => gateway.app.health.draining, 5000, "the gateway to start draining");
    assert.equal(closed, false, "close waits for the call in flight");
    store.release();
    assert.equal((await reply).snapshot?.symbolId, 13);
    await closing;
  });
});

describe("StreamDrain", () => {
  it("keeps a stream pushed, and ends it with UNAVAILABLE, once, on drain", async () => {
    const drain = new StreamDrain();
    let cancels = 0;
    const source = pushedStream<number>((sink) => {
      sink.push([1, 2, 3]);
      return {
        resume() {},
        cancel() {
          cancels++;
          // What a cancelled source says last must not reach the client.
          sink.end(undefined);
        },
      };
    });
    const call = drain.interceptor(async () => ({ stream: true, message: source }) as never);
    const res = (await call({ method: MarketDataService.method.subscribeSnapshots, stream: false } as never)) as unknown as {
      message: AsyncIterable<number>;
    };
    assert.ok(isPushedStream(res.message), "still pushed");
    const batches: number[][] = [];
    const ends: unknown[] = [];
    res.message[pushMessages]({
      push: (messages) => batches.push([...messages]) > 0,
      end: (error) => ends.push(error),
    });
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.equal(drain.openStreams, 1);
    await drain.drain();
    assert.equal(ends.length, 1);
    assert.ok(ends[0] instanceof ConnectError && ends[0].code === Code.Unavailable, String(ends[0]));
    assert.equal(cancels, 1);
    assert.equal(drain.openStreams, 0);
    await expectCode(
      drain.interceptor(async () => ({}) as never)({ method: MarketDataService.method.getSnapshot } as never),
      Code.Unavailable,
    );
  });
});
