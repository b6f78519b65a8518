import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { create } from "@bufbuild/protobuf";
import {
  GetSnapshotRequestSchema,
  MarketDataService,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsUnary } from "../support/grpc-js-client.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { FRESH_LIMIT } from "../../src/market/hub.js";
import { scrapeMetrics } from "../support/prometheus.js";
import { stalledSubscriber } from "../support/stalled-subscriber.js";
import { waitFor } from "../support/transports.js";

const GET_SNAPSHOT = "stockify.v1.MarketDataService/GetSnapshot";
const SUBSCRIBE = "stockify.v1.MarketDataService/SubscribeSnapshots";

for (const lane of GRPC_LANES) describe(`call metrics (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, STREAM_BUFFER_SIZE: "1" });
  });
  after(() => gateway.close());

  it("counts and times every call by method, status and protocol", async () => {
    const grpcClient = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    const webClient = createClient(MarketDataService, createGrpcWebTransport({ baseUrl: gateway.baseUrl, httpVersion: "1.1" }));
    const connectClient = createClient(MarketDataService, createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "2" }));
    for (let i = 0; i < 3; i++) await grpcClient.getSnapshot({ symbolId: 13 });
    await webClient.getSnapshot({ symbolId: 25 });
    await webClient.getSnapshot({ symbolId: 27 });
    await connectClient.getSnapshot({ symbolId: 13 });
    await expectCode(connectClient.getSnapshot({ symbolId: 999 }), Code.NotFound);
    // A second gRPC implementation lands in the same series as connect-node's.
    const grpcJs = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
    try {
      await grpcJsUnary(grpcJs, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 13 }));
    } finally {
      grpcJs.close();
    }

    assert.equal((await fetch(`${gateway.baseUrl}/v1/snapshots/13`)).status, 200);
    assert.equal((await fetch(`${gateway.baseUrl}/v1/snapshots/999`)).status, 404);

    const metric = await scrapeMetrics(gateway.baseUrl);
    const total = (protocol: string, status: string) =>
      metric("grpc_requests_total", { method: GET_SNAPSHOT, protocol, status });
    assert.equal(total("grpc", "OK"), 4);
    assert.equal(total("grpc-web", "OK"), 2);
    assert.equal(total("connect", "OK"), 1);
    assert.equal(total("connect", "NOT_FOUND"), 1);
    assert.equal(total("rest", "OK"), 1);
    assert.equal(total("rest", "NOT_FOUND"), 1);
    assert.equal(
      metric("grpc_requests_total", { method: "stockify.v1.MarketFeedService/PublishTicks", protocol: "rest", status: "OK" }),
      0,
      "series exist before the first call",
    );
    assert.equal(metric("grpc_request_duration_seconds_count", { method: GET_SNAPSHOT, protocol: "grpc" }), 4);
    assert.equal(metric("grpc_request_duration_seconds_count", { method: GET_SNAPSHOT, protocol: "connect" }), 2);
    assert.equal(metric("grpc_request_duration_seconds_bucket", { method: GET_SNAPSHOT, protocol: "grpc-web", le: "+Inf" }), 2);
    assert.ok(metric("grpc_request_duration_seconds_sum", { method: GET_SNAPSHOT, protocol: "grpc" })! > 0);
    // Default process metrics come along.
    // Present, not positive: the counter holds CPU time since the previous
    // scrape, which a busy machine can report as zero.
    assert.ok(metric("process_cpu_user_seconds_total") !== undefined);
    assert.ok(metric("nodejs_eventloop_lag_seconds") !== undefined);
  });

  it("tracks open streams, the messages they send and conflated updates", async () => {
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    const abort = new AbortController();
    const stream = client.subscribeSnapshots({ symbolIds: [13] }, { signal: abort.signal })[Symbol.asyncIterator]();
    try {
      await stream.next();
      let metric = await scrapeMetrics(gateway.baseUrl);
      assert.equal(metric("grpc_active_streams", { method: SUBSCRIBE, protocol: "grpc" }), 1);
      assert.equal(metric("stockify_hub_subscriptions"), 1);

      // More updates of one symbol in one delivery cycle than the hub hands
      // on one by one: the stream gets the latest, and the rest count as
      // conflated.
      await gateway.app.market.ingest(Array.from({ length: 2 * FRESH_LIMIT }, (_, i) => ({ symbolId: 13, ltp: 24_000 + i })));
        let conflated = 0;
      for (const deadline = Date.now() + 5000; conflated === 0 && Date.now() < deadline; ) {
        metric = await scrapeMetrics(gateway.baseUrl);
        conflated = metric("stockify_stream_conflations_total") ?? 0;
      }
      assert.ok(conflated > 0, "conflations counted");
      const sent = metric("grpc_stream_messages_sent_total", { method: SUBSCRIBE, stream_type: "server_streaming" })!;
      assert.ok(sent >= 1);
    } finally {
      abort.abort();
    }
    await stream.next().catch(() => undefined);
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "the stream to let go");
    let closed = false;
    let metric = await scrapeMetrics(gateway.baseUrl);
    const deadline = Date.now() + 5000;
    while (!closed && Date.now() < deadline) {
      metric = await scrapeMetrics(gateway.baseUrl);
      closed = metric("grpc_active_streams", { method: SUBSCRIBE, protocol: "grpc" }) === 0;
    }
    assert.ok(closed, "the active stream gauge goes back to 0");
    assert.equal(metric("grpc_requests_total", { method: SUBSCRIBE, protocol: "grpc", status: "CANCELLED" }), 1);
  });
});

for (const lane of GRPC_LANES) describe(`slow consumer metrics (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, STREAM_BUFFER_SIZE: "1", SLOW_CONSUMER_POLICY: "close" });
  });
  after(() => gateway.close());

  it("counts a stream closed because its reader fell behind", async () => {
    const symbolIds = [13, 25, 27];
    const slow = stalledSubscriber(gateway.baseUrl, symbolIds);
    try {
      await waitFor(() => gateway.app.market.subscriptions.size === 1, 5000, "the stalled stream");
      const [subscription] = gateway.app.market.subscriptions;
      // The stream stops being writable once its small window is full; from
      // then on every update puts it further behind, past a buffer of one.
      for (let round = 1; !subscription!.closed; round++) {
        assert.ok(round < 2000, "the stalled stream is closed eventually");
        await gateway.app.market.ingest(symbolIds.map((symbolId) => ({ symbolId, ltp: 100 + round })));
        // Past the delivery window, so that every round is a delivery cycle.
        await new Promise((resolve) => setTimeout(resolve, 6));
      }
      slow.resume();
      await slow.ended;
      assert.equal(slow.status, "8", "grpc-status RESOURCE_EXHAUSTED");
    } finally {
      slow.close();
    }
    const metric = await scrapeMetrics(gateway.baseUrl);
    assert.equal(metric("stockify_slow_consumer_closes_total"), 1);
    assert.equal(metric("grpc_requests_total", { method: SUBSCRIBE, protocol: "grpc", status: "RESOURCE_EXHAUSTED" }), 1);
  });
});
