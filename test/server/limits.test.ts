import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GetSnapshotRequestSchema, ListSymbolsRequestSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService, PublishTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import type { Tick } from "../../src/market/snapshot.js";
import { createKeepalive } from "../../src/server/limits.js";
import type { OnePortServer } from "../../src/server/one-port-server.js";
import { expectCode } from "../support/expect-code.js";
import { SEED_TICKS, startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsUnary } from "../support/grpc-js-client.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { waitFor } from "../support/transports.js";

const LIMIT = 64 * 1024;
/** Ticks whose encoding is well over LIMIT. */
const bigBatch = Array.from({ length: 1500 }, (_, i) => ({ symbolId: 13, ltp: 24000 + i, symbol: `NIFTY 50 ${"x".repeat(40)}` }));
/** Enough symbols that ListSymbols answers with more than LIMIT bytes. */
const manySymbols: Tick[] = [
  ...SEED_TICKS,
  ...Array.from({ length: 3000 }, (_, i) => ({ symbolId: 1000 + i, symbol: `SYNTHETIC SYMBOL ${i}`, ltp: 100 })),
];

for (const lane of GRPC_LANES) describe(`message size limit (${lane.name})`, () => {
  let gateway: TestGateway;
  let sessions = 0;
  before(async () => {
    gateway = await startGateway({ ...lane.env, MAX_MESSAGE_BYTES: String(LIMIT) }, { seed: manySymbols });
    const server = gateway.app.server as unknown as OnePortServer;
    server.http2.on("session", () => sessions++);
  });
  after(() => gateway.close());

  for (const [name, create] of [
    ["gRPC", (baseUrl: string) => createGrpcTransport({ baseUrl })],
    ["gRPC-Web over HTTP/2", (baseUrl: string) => createGrpcWebTransport({ baseUrl, httpVersion: "2" })],
    ["Connect over HTTP/2", (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
  ] as const) {
    it(`rejects an oversized request and response over ${name} with RESOURCE_EXHAUSTED, and the connection goes on serving`, async () => {
      const before = sessions;
      const transport = create(gateway.baseUrl);
      const feed = createClient(MarketFeedService, transport);
      const data = createClient(MarketDataService, transport);
      const abort = new AbortController();
      const streaming = data.subscribeSnapshots({ symbolIds: [25] }, { signal: abort.signal })[Symbol.asyncIterator]();
      assert.equal((await streaming.next()).value?.event.case, "snapshot");
      await expectCode(feed.publishTicks({ ticks: bigBatch }), Code.ResourceExhausted);
      await expectCode(data.listSymbols({}), Code.ResourceExhausted);
      assert.equal((await data.getSnapshot({ symbolId: 13 })).snapshot?.ltp, 24350, "nothing of the batch applied");
      assert.equal((await feed.publishTicks({ ticks: [{ symbolId: 25, ltp: 52101 }] })).acceptedCount, 1);
      const update = await streaming.next();
      assert.equal(update.value?.event.case === "snapshot" && update.value.event.value.ltp, 52101, "the open stream still flows");
      abort.abort();
      assert.equal(sessions - before, 1, "every call shared one HTTP/2 connection");
    });
  }

  it("rejects an oversized request from @grpc/grpc-js with RESOURCE_EXHAUSTED and serves the next call", async () => {
    const client = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure(), {
      "grpc.max_send_message_length": -1,
    });
    try {
      const refused = await grpcJsUnary(client, MarketFeedService.method.publishTicks, create(PublishTicksRequestSchema, { ticks: bigBatch })).then(
        () => assert.fail("the batch was accepted"),
        (error: grpc.ServiceError) => error,
      );
      assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
      const snapshot = await grpcJsUnary(client, MarketDataService.method.getSnapshot, create(GetSnapshotRequestSchema, { symbolId: 27 }));
      assert.equal(snapshot.snapshot?.symbolId, 27);
    } finally {
      client.close();
    }
  });
});

for (const lane of GRPC_LANES) describe(`HTTP/2 connection settings (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, KEEPALIVE_INTERVAL_MS: "100", KEEPALIVE_TIMEOUT_MS: "300" });
  });
  after(() => gateway.close());

  it("announces 1000 concurrent streams per connection and pings a live client, which stays connected", async () => {
    const session = http2.connect(gateway.baseUrl);
    try {
      let pings = 0;
      session.on("ping", () => pings++);
      await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1000);
      await waitFor(() => pings >= 5, 5000, "five keepalive pings");
      assert.equal(session.closed || session.destroyed, false);
    } finally {
      session.close();
    }
  });

  it("closes a connection whose peer stops answering pings", async () => {
    const socket = net.connect(gateway.port, "127.0.0.1");
    let closed = false;
    socket.on("close", () => (closed = true));
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    // The HTTP/2 preface and an empty SETTINGS frame, then silence: no ping is ever acknowledged.
    socket.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await waitFor(() => closed, 5000, "the server to close the silent connection");
  });
});

for (const lane of GRPC_LANES) describe(`deadlines (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env, MAX_DEADLINE_MS: "60000" });
  });
  after(() => gateway.close());

  for (const [name, transport] of [
    ["gRPC", (baseUrl: string) => createGrpcTransport({ baseUrl })],
    ["Connect", (baseUrl: string) => createConnectTransport({ baseUrl, httpVersion: "1.1" })],
  ] as const) {
    it(`refuses a deadline beyond MAX_DEADLINE_MS over ${name} and serves one within it`, async () => {
      const client = createClient(MarketDataService, transport(gateway.baseUrl));
      const refused = await expectCode(client.getSnapshot({ symbolId: 13 }, { timeoutMs: 120_000 }), Code.InvalidArgument);
      assert.match(refused.rawMessage, /60000/);
      assert.equal((await client.getSnapshot({ symbolId: 13 }, { timeoutMs: 30_000 })).snapshot?.symbolId, 13);
    });
  }

  it("refuses a REST deadline beyond MAX_DEADLINE_MS with 400", async () => {
    const url = `${gateway.baseUrl}/v1/snapshots/13`;
    const refused = await fetch(url, { headers: { "connect-timeout-ms": "120000" } });
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { code: string }).code, "invalid_argument");
    assert.equal((await fetch(url, { headers: { "connect-timeout-ms": "30000" } })).status, 200);
  });
});

for (const lane of GRPC_LANES) describe(`compression (${lane.name})`, () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ ...lane.env }, { seed: manySymbols });
  });
  after(() => gateway.close());

  it("answers a gRPC client that sends and accepts gzip with grpc-encoding: gzip", async () => {
    const client = createClient(
      MarketDataService,
      createGrpcTransport({ baseUrl: gateway.baseUrl, sendCompression: compressionGzip, acceptCompression: [compressionGzip] }),
    );
    let encoding: string | null = null;
    const list = await client.listSymbols({}, { onHeader: (header) => (encoding = header.get("grpc-encoding")) });
    assert.equal(list.symbols.length, manySymbols.length);
    assert.equal(encoding, "gzip");
  });

  it("serves @grpc/grpc-js with gzip as its default compression", async () => {
    const client = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure(), {
      "grpc.default_compression_algorithm": 2,
    });
    try {
      const list = await grpcJsUnary(client, MarketDataService.method.listSymbols, create(ListSymbolsRequestSchema));
      assert.equal(list.symbols.length, manySymbols.length);
    } finally {
      client.close();
    }
  });

  it("compresses plain HTTP (REST) responses for clients that accept it", async () => {
    const response = await fetch(`${gateway.baseUrl}/v1/symbols`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-encoding"), "gzip");
    assert.equal(((await response.json()) as { symbols: unknown[] }).symbols.length, manySymbols.length);
  });
});

describe("createKeepalive", () => {
  it("leaves alone a session that was destroyed before it said 'close', where a ping would throw", async () => {
    // Node destroys a session's handle first and emits 'close' later; a ping
    // in between throws ERR_HTTP2_INVALID_SESSION, from a timer, which
    // would take the whole gateway down.
    const keepalive = createKeepalive({ intervalMs: 1, timeoutMs: 1000 });
    let pinged = 0;
    const session = {
      destroyed: true,
      closed: false,
      once: () => session,
      ping: () => {
        pinged++;
        throw Object.assign(new Error("The session has been destroyed"), { code: "ERR_HTTP2_INVALID_SESSION" });
      },
    };
    try {
      keepalive.watch(session as unknown as http2.Http2Session);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(pinged, 0);
    } finally {
      keepalive.stop();
    }
  });
});
