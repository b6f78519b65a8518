import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import {
  GetBatchSnapshotsRequestSchema,
  GetSnapshotRequestSchema,
  ListSymbolsRequestSchema,
  MarketDataService,
  SubscribeSnapshotsRequestSchema,
} from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { Market } from "../../../src/market/market.js";
import { MemorySnapshotStore } from "../../../src/market/memory-store.js";
import { callProtocol } from "../../../src/pipeline/call-protocol.js";
import { registration } from "../../../src/pipeline/service-registry.js";
import { installGrpcLane } from "../../../src/server/grpc-lane/grpc-lane.js";
import { createMarketDataService } from "../../../src/services/market-data-service.js";
import { startGateway, type TestGateway } from "../../support/gateway.js";
import { frame, rawGrpcCall } from "../../support/raw-grpc.js";
import { assertSameAnswer } from "../../support/same-answer.js";
import { waitFor } from "../../support/transports.js";

const T0 = Date.UTC(2026, 0, 2, 3, 45, 0);
const SEED = [
  { symbolId: 13, symbol: "NIFTY 50", ltp: 24350.5, volume: 100, bid: 24350.45, ask: 24350.55, exchangeTimeMs: T0 },
  { symbolId: 25, symbol: "BANK NIFTY", ltp: 52100, volume: 50, exchangeTimeMs: T0 },
  { symbolId: 27, symbol: "FIN NIFTY", ltp: 23850, volume: 10, exchangeTimeMs: T0 },
  ...Array.from({ length: 60 }, (_, i) => ({ symbolId: 1000 + i, symbol: `SYN${1000 + i}`, ltp: 100 + i, exchangeTimeMs: T0 })),
];

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
/** A symbol the slow store answers late. */
const SLOW_SYMBOL = 25;
const BATCH = "/stockify.v1.MarketDataService/GetBatchSnapshots";
const LIST = "/stockify.v1.MarketDataService/ListSymbols";
const SUBSCRIBE = "/stockify.v1.MarketDataService/SubscribeSnapshots";

const get = (symbolId: number) => frame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId })));
const batch = (symbolIds: number[]) =>
  frame(toBinary(GetBatchSnapshotsRequestSchema, create(GetBatchSnapshotsRequestSchema, { symbolIds })));

/** Requests both lanes must answer alike, byte for byte. */
const CASES: { name: string; path: string; body: Buffer; headers?: http2.OutgoingHttpHeaders }[] = [
  { name: "a known symbol", path: GET, body: get(13) },
  { name: "an unknown symbol (NOT_FOUND)", path: GET, body: get(424242) },
  { name: "symbol 0 (INVALID_ARGUMENT)", path: GET, body: get(0) },
  { name: "a batch with a missing symbol", path: BATCH, body: batch([13, 25, 27, 999]) },
  { name: "a batch over the limit", path: BATCH, body: batch(Array.from({ length: 1001 }, (_, i) => i + 1)) },
  { name: "the symbol list", path: LIST, body: frame(toBinary(ListSymbolsRequestSchema, create(ListSymbolsRequestSchema))) },
  { name: "a body that is not protobuf", path: GET, body: frame(Buffer.from([0xff, 0xff, 0xff, 0xff])) },
  { name: "a truncated message", path: GET, body: get(13).subarray(0, 6) },
  { name: "a torn length prefix", path: GET, body: get(13).subarray(0, 3) },
  { name: "no message at all", path: GET, body: Buffer.alloc(0) },
  { name: "two messages for a unary method", path: GET, body: Buffer.concat([get(13), get(25)]) },
  {
    name: "a gzip-compressed request",
    path: GET,
    body: frame(gzipSync(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: 25 }))), true),
    headers: { "grpc-encoding": "gzip" },
  },
  { name: "an unknown request encoding", path: GET, body: get(13), headers: { "grpc-encoding": "snappy" } },
  {
    name: "a large answer compressed with gzip",
    path: BATCH,
    body: batch(SEED.map((s) => s.symbolId)),
    headers: { "grpc-accept-encoding": "gzip" },
  },
  { name: "a malformed timeout", path: GET, body: get(13), headers: { "grpc-timeout": "soon" } },
  { name: "a deadline beyond the call", path: GET, body: get(13), headers: { "grpc-timeout": "5S" } },
];

async function seeded(env: Record<string, string>): Promise<TestGateway> {
  return startGateway(env, { seed: SEED });
}

describe("the lean gRPC lane", () => {
  let lean: TestGateway;
  let connect: TestGateway;
  let leanSession: http2.ClientHttp2Session;
  let connectSession: http2.ClientHttp2Session;
  before(async () => {
    lean = await seeded({});
    connect = await seeded({ GRPC_LANE: "off" });
    leanSession = http2.connect(lean.baseUrl);
    connectSession = http2.connect(connect.baseUrl);
  });
  after(async () => {
    leanSession.close();
    connectSession.close();
    await Promise.all([lean.close(), connect.close()]);
  });

  describe("answers exactly as Connect's gRPC handler does", () => {
    for (const c of CASES) {
      it(`for ${c.name}`, async () => {
        const [ours, theirs] = await Promise.all([
          rawGrpcCall(leanSession, c.path, c.body, c.headers),
          rawGrpcCall(connectSession, c.path, c.body, c.headers),
        ]);
        assert.ok(theirs.status !== undefined, "Connect's handler sent a status");
        assert.equal(ours.status, theirs.status, `status: ${ours.message} vs ${theirs.message}`);
        assert.equal(ours.message, theirs.message);
        assert.equal(ours.headers["grpc-encoding"], theirs.headers["grpc-encoding"]);
        assert.equal(ours.headers[":status"], theirs.headers[":status"]);
        assert.equal(ours.headers["content-type"] ?? ours.trailers["content-type"], "application/grpc+proto");
        assert.deepEqual(ours.body, theirs.body);
        assertSameAnswer(ours, theirs);
      });
    }

    // Fastify's onRequest hook echoes the id on Connect's handler; the lane never reaches Fastify.
    it("for the request id a caller sends, on an answer and on an error", async () => {
      for (const [body, id] of [[get(13), "abc-123"], [get(424242), "abc-404"]] as const) {
        const headers = { "x-request-id": id };
        const [ours, theirs] = await Promise.all([
          rawGrpcCall(leanSession, GET, body, headers),
          rawGrpcCall(connectSession, GET, body, headers),
        ]);
        assert.equal(theirs.headers["x-request-id"], id);
        assert.equal(ours.headers["x-request-id"], id);
      }
    });

    it("for a call without a request id: an id of the lane's own, new for each call", async () => {
      const first = await rawGrpcCall(leanSession, GET, get(13));
      const second = await rawGrpcCall(leanSession, GET, get(424242));
      assert.match(String(first.headers["x-request-id"]), /^grpc-\d+$/);
      assert.match(String(second.headers["x-request-id"]), /^grpc-\d+$/);
      assert.notEqual(first.headers["x-request-id"], second.headers["x-request-id"]);
    });

    it("for the first messages of a server stream", async () => {
      const body = frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: [13, 25] })));
      const [ours, theirs] = await Promise.all([firstFrames(leanSession, body, 2), firstFrames(connectSession, body, 2)]);
      assert.equal(ours.length, 2);
      assert.deepEqual(ours, theirs);
    });
  });

  it("serves gRPC calls without touching Connect's handler, and the rest with it", async () => {
    let fastifyRequests = 0;
    const counter = () => fastifyRequests++;
    lean.app.server.on("request", counter);
    // Node's compat layer emits 'request' on the HTTP/2 server, not the TCP one.
    const inner = (lean.app.server as unknown as { http2: http2.Http2Server }).http2;
    inner.on("request", counter);
    try {
      const answer = await rawGrpcCall(leanSession, GET, get(13));
      assert.equal(answer.status, "0");
      assert.equal(fastifyRequests, 0);
      // Every unary call has a lane of its own; a route of Fastify's goes to it.
      const health = leanSession.request({ ":path": "/healthz" });
      const [headers] = (await once(health, "response")) as [http2.IncomingHttpHeaders];
      health.resume();
      await once(health, "end");
      assert.equal(headers[":status"], 200);
      assert.equal(fastifyRequests, 1);
    } finally {
      inner.off("request", counter);
      lean.app.server.off("request", counter);
    }
  });

  it("writes a burst of updates to a stream in a few writes, each update once", async () => {
    const ids = SEED.filter((t) => t.symbolId >= 1000).map((t) => t.symbolId);
    const body = frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: ids })));
    const stream = leanSession.request({ ":method": "POST", ":path": SUBSCRIBE, "content-type": "application/grpc", te: "trailers" });
    let buffered = Buffer.alloc(0);
    let frames = 0;
    let chunks = 0;
    const received = new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => {
        chunks++;
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
          buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
          frames++;
        }
        if (frames === ids.length * 2) resolve();
      });
      stream.on("error", reject);
    });
    stream.end(body);
    try {
      const deadline = Date.now() + 5000;
      while (frames < ids.length) {
        assert.ok(Date.now() < deadline, "initial snapshots did not arrive");
        await new Promise((r) => setTimeout(r, 5));
      }
      const chunksBefore = chunks;
      // One ingest publishes every update in one turn of the event loop.
      await lean.app.market.ingest(ids.map((symbolId) => ({ symbolId, ltp: 500 })));
      await received;
      assert.equal(frames, ids.length * 2);
      // 60 updates of ~100 bytes fit one DATA frame; allow for a split or two.
      assert.ok(chunks - chunksBefore <= 4, `${chunks - chunksBefore} DATA chunks for one burst`);
    } finally {
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    await waitFor(() => lean.app.market.hub.subscriptionCount === 0, 5000, "burst stream released");
  });

  it("ends a stream when the client goes, releasing its subscription", async () => {
    const before = lean.app.market.hub.subscriptionCount;
    const body = frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: [13] })));
    await firstFrames(leanSession, body, 1);
    const deadline = Date.now() + 5000;
    while (lean.app.market.hub.subscriptionCount !== before) {
      assert.ok(Date.now() < deadline, "subscription still held");
      await new Promise((r) => setTimeout(r, 10));
    }
  });
});

describe("the lean gRPC lane with interceptors and deadlines", () => {
  // Calls are told apart by a header: on a loaded machine a call a client
  // gave up on can reach the server during a later test.
  const seen: { protocol: string; path: string; auth: string | null; test: string | null }[] = [];
  const record: Interceptor = (next) => async (req) => {
    seen.push({ protocol: callProtocol(req), path: req.url, auth: req.header.get("authorization"), test: req.header.get("x-test") });
    if (req.header.get("x-deny") !== null) throw new ConnectError("denied by policy", Code.PermissionDenied);
    const res = await next(req);
    res.header.set("x-served-by", "interceptor");
    res.trailer.set("x-trailer", "yes");
    return res;
  };
  const gateways: TestGateway[] = [];
  before(async () => {
    for (const env of [{}, { GRPC_LANE: "off" }] as Record<string, string>[]) {
      gateways.push(await startGateway(env, { store: new SlowStore(SLOW_SYMBOL, 3000), interceptors: [record], seed: SEED }));
    }
  });
  after(() => Promise.all(gateways.map((g) => g.close())));

  for (const [index, lane] of ["lean lane", "Connect's handler"].entries()) {
    it(`runs the interceptor chain on every call (${lane})`, async () => {
      const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateways[index]!.baseUrl }));
      const test = `interceptors ${index}`;
      let header: Headers | undefined;
      let trailer: Headers | undefined;
      const { snapshot } = await client.getSnapshot(
        { symbolId: 13 },
        { headers: { authorization: "Bearer abc", "x-test": test }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
      );
      assert.equal(snapshot?.symbolId, 13);
      const mine = seen.filter((call) => call.test === test);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]!.protocol, "grpc");
      assert.equal(mine[0]!.auth, "Bearer abc");
      assert.equal(new URL(mine[0]!.path, gateways[index]!.baseUrl).pathname, GET);
      assert.equal(header?.get("x-served-by"), "interceptor");
      assert.equal(trailer?.get("x-trailer"), "yes");
      await assert.rejects(client.getSnapshot({ symbolId: 13 }, { headers: { "x-deny": "1" } }), (e: unknown) => {
        return e instanceof ConnectError && e.code === Code.PermissionDenied && e.rawMessage === "denied by policy";
      });
    });

    it(`ends a call at its deadline with DEADLINE_EXCEEDED (${lane})`, async () => {
      const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateways[index]!.baseUrl }));
      await assert.rejects(client.getSnapshot({ symbolId: SLOW_SYMBOL }, { timeoutMs: 50 }), (e: unknown) => {
        return e instanceof ConnectError && e.code === Code.DeadlineExceeded;
      });
    });
  }

  for (const [name, headers] of [
    ["the metadata an interceptor adds", { "x-test": "differential ok" }],
    ["an interceptor's refusal", { "x-test": "differential deny", "x-deny": "1" }],
  ] as const) {
    it(`answers ${name} exactly as Connect's handler does`, async () => {
      const sessions = gateways.map((g) => http2.connect(g.baseUrl));
      try {
        const [ours, theirs] = await Promise.all(sessions.map((session) => rawGrpcCall(session, GET, get(13), headers)));
        assertSameAnswer(ours!, theirs!);
      } finally {
        for (const session of sessions) session.close();
      }
    });
  }

  // Connect's handler leaves the answer to the implementation, and the
  // client gives up on its own; the lane says so at the deadline.
  it("answers DEADLINE_EXCEEDED at the deadline, not when a slow call returns (lean lane)", async () => {
    const session = http2.connect(gateways[0]!.baseUrl);
    try {
      const started = Date.now();
      const answer = await rawGrpcCall(session, GET, get(SLOW_SYMBOL), { "grpc-timeout": "50m" });
      assert.equal(answer.status, String(Code.DeadlineExceeded));
      assert.ok(Date.now() - started < 2500, "answered before the slow store returned");
    } finally {
      session.close();
    }
  });
});

describe("installGrpcLane on a plain HTTP/2 server", () => {
  let server: http2.Http2Server;
  let session: http2.ClientHttp2Session;
  let market: Market;
  before(async () => {
    market = new Market(new MemorySnapshotStore());
    await market.ingest(SEED);
    server = http2.createServer((_req, res) => {
      res.statusCode = 404;
      res.end("not here");
    });
    installGrpcLane(server, [registration(MarketDataService, createMarketDataService(market))], { readMaxBytes: 64 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    session = http2.connect(`http://127.0.0.1:${address.port}`);
  });
  after(async () => {
    session.destroy();
    await new Promise((resolve) => server.close(resolve));
    await market.close();
  });

  it("rejects a message over readMaxBytes with RESOURCE_EXHAUSTED and keeps serving the connection", async () => {
    const big = batch(Array.from({ length: 100 }, (_, i) => i + 1));
    const [rejected, fine] = await Promise.all([rawGrpcCall(session, BATCH, big), rawGrpcCall(session, GET, get(13))]);
    assert.equal(rejected.status, String(Code.ResourceExhausted));
    assert.match(decodeURIComponent(rejected.message ?? ""), /readMaxBytes 64/);
    assert.equal(fine.status, "0");
    assert.ok(fine.body.length > 5);
  });

  it("passes what it does not serve on to the server's own handler", async () => {
    const stream = session.request({ ":path": "/elsewhere" });
    const status = await new Promise((resolve) => stream.on("response", (h) => resolve(h[":status"])));
    stream.close();
    assert.equal(status, 404);
  });
});

/** firstFrames reads the first `count` gRPC frames of a server stream, then cancels it. */
function firstFrames(session: http2.ClientHttp2Session, body: Buffer, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": SUBSCRIBE, "content-type": "application/grpc", te: "trailers" });
    let buffered = Buffer.alloc(0);
    const frames: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1) && frames.length < count) {
        const size = 5 + buffered.readUInt32BE(1);
        frames.push(buffered.subarray(0, size));
        buffered = buffered.subarray(size);
      }
      if (frames.length === count) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve(frames);
      }
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

/** SlowStore answers like a memory store, but late for one symbol: a store under load. */
class SlowStore extends MemorySnapshotStore {
  constructor(
    private readonly slowSymbol: number,
    private readonly delayMs: number,
  ) {
    super();
  }

  override async get(symbolId: number) {
    const snapshot = await super.get(symbolId);
    if (symbolId === this.slowSymbol) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return snapshot;
  }
}
