import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import {
  GetBatchSnapshotsRequestSchema,
  GetSnapshotRequestSchema,
  ListSymbolsRequestSchema,
  MarketDataService,
  StreamMarketDataRequestSchema,
  SubscribeSnapshotsRequestSchema,
  type StreamMarketDataResponse,
  type SubscribeSnapshotsResponse,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import {
  MarketFeedService,
  PublishTicksRequestSchema,
  StreamTicksRequestSchema,
} from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsMethod, grpcJsUnary } from "../support/grpc-js-client.js";
import { GATEWAY_LANES, waitFor } from "../support/transports.js";

const run = promisify(execFile);

for (const lane of GATEWAY_LANES) describe(`an independent gRPC client (@grpc/grpc-js), ${lane.name}`, () => {
  let gateway: TestGateway;
  let client: grpc.Client;
  before(async () => {
    gateway = await startGateway(lane.env);
    client = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await gateway.close();
  });

  it("calls GetSnapshot, GetBatchSnapshots and ListSymbols", async () => {
    const one = await grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 25 }));
    assert.equal(one.snapshot?.symbol, "BANK NIFTY");
    const batch = await grpcJsUnary(
      client,
      MarketDataService.method.getBatchSnapshots,
      create(GetBatchSnapshotsRequestSchema, { symbolIds: [13, 27, 5] }),
    );
    assert.deepEqual(Object.keys(batch.snapshots).sort(), ["13", "27"]);
    assert.deepEqual(batch.missingSymbolIds, [5]);
    const list = await grpcJsUnary(client, MarketDataService.method.listSymbols, create(ListSymbolsRequestSchema));
    assert.ok(list.symbols.length >= 3);
  });

  it("gets gRPC status codes for bad requests", async () => {
    const notFound = await grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 31337 })).then(
      () => assert.fail("unknown symbol answered"),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(notFound.code, grpc.status.NOT_FOUND);
    const invalid = await grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 0 })).then(
      () => assert.fail("symbol 0 answered"),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(invalid.code, grpc.status.INVALID_ARGUMENT);
  });

  it("receives SubscribeSnapshots updates and cancels", async () => {
    const { path, serialize, deserialize } = grpcJsMethod(MarketDataService.method.subscribeSnapshots);
    const call = client.makeServerStreamRequest(path, serialize, deserialize, create(SubscribeSnapshotsRequestSchema, { symbolIds: [13] }));
    const prices: number[] = [];
    call.on("data", (response: SubscribeSnapshotsResponse) => {
      if (response.event.case === "snapshot") prices.push(response.event.value.ltp);
    });
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("error", () => undefined);
    await waitFor(() => prices.length === 1, 5000, "initial snapshot");
    await gateway.app.market.ingest([{ symbolId: 13, ltp: 12345.65 }]);
    await waitFor(() => prices.includes(12345.65), 5000, "update");
    call.cancel();
    assert.equal((await ended).code, grpc.status.CANCELLED);
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "subscription released");
  });

  it("drives StreamMarketData and StreamTicks", async () => {
    const bidi = grpcJsMethod(MarketDataService.method.streamMarketData);
    const call = client.makeBidiStreamRequest(bidi.path, bidi.serialize, bidi.deserialize);
    const events: StreamMarketDataResponse["event"][] = [];
    call.on("data", (response: StreamMarketDataResponse) => events.push(response.event));
    call.on("error", () => undefined);
    call.write(create(StreamMarketDataRequestSchema, { action: { case: "subscribe", value: { symbolIds: [27] } } }));
    await waitFor(() => events.some((e) => e.case === "snapshot" && e.value.symbolId === 27), 5000, "snapshot of 27");

    const ticks = grpcJsMethod(MarketFeedService.method.streamTicks);
    const accepted = await new Promise<bigint>((resolve, reject) => {
      const producer = client.makeClientStreamRequest(ticks.path, ticks.serialize, ticks.deserialize, (error, response) =>
        error ? reject(error) : resolve(response!.acceptedCount),
      );
      producer.write(create(StreamTicksRequestSchema, { ticks: [{ symbolId: 27, ltp: 23000.5 }] }));
      producer.write(create(StreamTicksRequestSchema, { ticks: [{ symbolId: 27, ltp: 23001.5 }] }));
      producer.end();
    });
    assert.equal(accepted, 2n);
    await waitFor(() => events.some((e) => e.case === "snapshot" && e.value.ltp === 23001.5), 5000, "streamed ticks pushed");

    call.write(create(StreamMarketDataRequestSchema, { action: { case: "unsubscribe", value: { symbolIds: [27] } } }));
    await waitFor(
      () => events.some((e) => e.case === "subscription" && e.value.unsubscribedSymbolIds.includes(27)),
      5000,
      "unsubscribe acknowledged",
    );
    call.cancel();
    await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "subscription released");
  });

  it("publishes ticks with PublishTicks", async () => {
    const response = await grpcJsUnary(
      client,
      MarketFeedService.method.publishTicks,
      create(PublishTicksRequestSchema, { ticks: [{ symbolId: 60001, ltp: 42, symbol: "FORTYTWO" }] }),
    );
    assert.equal(response.acceptedCount, 1);
    assert.equal((await gateway.app.market.get(60001))?.symbol, "FORTYTWO");
  });
});

describe("curl", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  it("calls GetSnapshot with Connect JSON over HTTP/1.1", async () => {
    const { stdout } = await run("curl", [
      "-sS", "--http1.1", "-w", "\n%{http_version} %{http_code}",
      "-H", "content-type: application/json",
      "-d", '{"symbolId": 13}',
      `${gateway.baseUrl}/stockify.v1.MarketDataService/GetSnapshot`,
    ]);
    const [body, status] = stdout.split("\n");
    assert.equal(status, "1.1 200");
    const json = JSON.parse(body!) as { snapshot: { symbolId: number; symbol: string; sequence: string } };
    assert.equal(json.snapshot.symbolId, 13);
    assert.equal(json.snapshot.symbol, "NIFTY 50");
    assert.match(json.snapshot.sequence, /^\d+$/);
  });

  it("calls GetSnapshot with Connect GET over HTTP/2 prior knowledge", async () => {
    const message = encodeURIComponent(JSON.stringify({ symbolId: 27 }));
    const { stdout } = await run("curl", [
      "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
      `${gateway.baseUrl}/stockify.v1.MarketDataService/GetSnapshot?encoding=json&message=${message}`,
    ]);
    const [body, status] = stdout.split("\n");
    assert.equal(status, "2 200");
    assert.equal((JSON.parse(body!) as { snapshot: { symbol: string } }).snapshot.symbol, "FIN NIFTY");
  });

  it("gets a Connect error body for an unknown symbol", async () => {
    const { stdout } = await run("curl", [
      "-sS", "--http1.1", "-w", "\n%{http_code}",
      "-H", "content-type: application/json",
      "-d", '{"symbolId": 404404}',
      `${gateway.baseUrl}/stockify.v1.MarketDataService/GetSnapshot`,
    ]);
    const [body, status] = stdout.split("\n");
    assert.equal(status, "404");
    assert.deepEqual(JSON.parse(body!), { code: "not_found", message: "unknown symbol: 404404" });
  });
});
