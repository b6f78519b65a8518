import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, encodeBinaryHeader, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import Fastify from "fastify";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import {
  GetSnapshotRequestSchema,
  MarketDataService,
  SubscribeSnapshotsRequestSchema,
} from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { registration } from "../../../src/pipeline/service-registry.js";
import { installGrpcLane } from "../../../src/server/grpc-lane/grpc-lane.js";
import { frame, rawGrpcCall } from "../../support/raw-grpc.js";
import { assertSameAnswer } from "../../support/same-answer.js";
import { waitFor } from "../../support/transports.js";

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
const SUBSCRIBE = "/stockify.v1.MarketDataService/SubscribeSnapshots";
/** Small enough that one long symbol name passes it. */
const WRITE_MAX_BYTES = 256;

const get = (symbolId: number) => frame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId })));
const subscribe = (symbolId: number) =>
  frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: [symbolId] })));
const snapshot = (symbolId: number, symbol = `SYM${symbolId}`) => ({ event: { case: "snapshot" as const, value: { symbolId, symbol, ltp: 100 } } });
const failure = () =>
  new ConnectError("the book is closed", Code.FailedPrecondition, { "x-error-meta": "e" }, [
    { desc: GetSnapshotRequestSchema, value: { symbolId: 42 } },
  ]);

/** What each handler saw of its signal, by the test that made the call. */
const aborted = new Map<string, unknown>();

function setMetadata(context: HandlerContext): void {
  context.responseHeader.set("x-handler", "h");
  context.responseHeader.append("x-multi", "a");
  context.responseHeader.append("x-multi", "b");
  context.responseHeader.set("x-blob-bin", encodeBinaryHeader(Uint8Array.of(0, 1, 2, 255)));
}

function untilAborted(context: HandlerContext): Promise<void> {
  return new Promise((resolve) =>
    context.signal.addEventListener(
      "abort",
      () => {
        aborted.set(context.requestHeader.get("x-test") ?? "", context.signal.reason);
        resolve();
      },
      { once: true },
    ),
  );
}

/**
 * A handler that does, by symbol, each thing a handler may do to its
 * answer: metadata, errors with details, messages over writeMaxBytes,
 * errors in mid-stream, waiting for its signal.
 */
const implementation: Partial<ServiceImpl<typeof MarketDataService>> = {
  async getSnapshot({ symbolId }, context) {
    switch (symbolId) {
      case 1:
        setMetadata(context);
        context.responseTrailer.set("x-handler-trailer", "t");
        return { snapshot: snapshot(1).event.value };
      case 2:
        context.responseTrailer.set("x-handler-trailer", "t");
        throw failure();
      case 3:
        throw new Error("a detail the client must not see");
      case 4:
        return { snapshot: snapshot(4, "X".repeat(WRITE_MAX_BYTES)).event.value };
      case 5:
        setMetadata(context);
        throw failure();
      case 6:
        await untilAborted(context);
        throw context.signal.reason;
      default:
        return { snapshot: snapshot(symbolId).event.value };
    }
  },
  async *subscribeSnapshots({ symbolIds }, context) {
    switch (symbolIds[0]) {
      case 1:
        setMetadata(context);
        yield snapshot(1);
        yield snapshot(2);
        context.responseTrailer.set("x-handler-trailer", "t");
        return;
      case 2:
        yield snapshot(1);
        context.responseTrailer.set("x-handler-trailer", "t");
        throw failure();
      case 3:
        yield snapshot(1);
        yield snapshot(2, "X".repeat(WRITE_MAX_BYTES));
        return;
      case 4:
        context.responseTrailer.set("x-handler-trailer", "t");
        throw failure();
      case 5:
        context.responseTrailer.set("x-handler-trailer", "t");
        return;
      case 6:
        yield snapshot(1);
        await untilAborted(context);
        return;
      case 7:
        setMetadata(context);
        throw failure();
    }
  },
};

/** An HTTP/2 Fastify app with connect-fastify, as the gateway has, and the lane in front of it or not. */
async function server(lane: boolean): Promise<{ app: { close(): PromiseLike<unknown> }; session: http2.ClientHttp2Session }> {
  const app = Fastify({ http2: true });
  await app.register(fastifyConnectPlugin, {
    writeMaxBytes: WRITE_MAX_BYTES,
    routes: (router) => router.service(MarketDataService, implementation),
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  if (lane) {
    const registrations = [registration(MarketDataService, implementation as ServiceImpl<typeof MarketDataService>)];
    installGrpcLane(app.server, registrations, { writeMaxBytes: WRITE_MAX_BYTES });
  }
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { app, session: http2.connect(`http://127.0.0.1:${address.port}`) };
}

const CASES: { name: string; path: string; body: Buffer }[] = [
  { name: "headers and trailers a unary handler sets (binary and repeated ones too)", path: GET, body: get(1) },
  { name: "an error with details and metadata, after the handler set a trailer", path: GET, body: get(2) },
  { name: "an error that is not a ConnectError", path: GET, body: get(3) },
  { name: "a response over writeMaxBytes", path: GET, body: get(4) },
  { name: "an error after the handler set headers", path: GET, body: get(5) },
  { name: "headers and trailers a streaming handler sets", path: SUBSCRIBE, body: subscribe(1) },
  { name: "an error in mid-stream, with details, metadata and trailers", path: SUBSCRIBE, body: subscribe(2) },
  { name: "a message over writeMaxBytes in mid-stream", path: SUBSCRIBE, body: subscribe(3) },
  { name: "a stream that fails before its first message", path: SUBSCRIBE, body: subscribe(4) },
  { name: "a stream that ends without a message", path: SUBSCRIBE, body: subscribe(5) },
  { name: "a stream that fails before its first message, after setting headers", path: SUBSCRIBE, body: subscribe(7) },
];

describe("the lean gRPC lane and connect-fastify, with one handler", () => {
  let lean: Awaited<ReturnType<typeof server>>;
  let connect: Awaited<ReturnType<typeof server>>;
  before(async () => {
    lean = await server(true);
    connect = await server(false);
  });
  after(async () => {
    lean.session.close();
    connect.session.close();
    await Promise.all([lean.app.close(), connect.app.close()]);
  });

  for (const c of CASES) {
    it(`answer alike: ${c.name}`, async () => {
      const [ours, theirs] = await Promise.all([rawGrpcCall(lean.session, c.path, c.body), rawGrpcCall(connect.session, c.path, c.body)]);
      assertSameAnswer(ours, theirs);
    });
  }

  it("answer alike when a client goes in mid-stream: the handler's signal ends with CANCELED", async () => {
    const reasons: unknown[] = [];
    for (const [name, session] of [["lean stream", lean.session], ["connect stream", connect.session]] as const) {
      await cancelAfterFirstBytes(session, SUBSCRIBE, subscribe(6), name);
      await waitFor(() => aborted.has(name), 5000, `${name}: the handler's signal to abort`);
      reasons.push(ConnectError.from(aborted.get(name)).code);
    }
    assert.deepEqual(reasons, [Code.Canceled, Code.Canceled]);
  });

  it("answer alike when a client gives up on a unary call: the handler's signal ends with CANCELED", async () => {
    const reasons: unknown[] = [];
    for (const [name, session] of [["lean unary", lean.session], ["connect unary", connect.session]] as const) {
      const stream = session.request({ ":method": "POST", ":path": GET, "content-type": "application/grpc", te: "trailers", "x-test": name });
      stream.on("error", () => {});
      stream.end(get(6));
      await new Promise((resolve) => setTimeout(resolve, 50));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await waitFor(() => aborted.has(name), 5000, `${name}: the handler's signal to abort`);
      reasons.push(ConnectError.from(aborted.get(name)).code);
    }
    assert.deepEqual(reasons, [Code.Canceled, Code.Canceled]);
  });
});

/** cancelAfterFirstBytes opens a call, waits for its first response bytes, and resets the stream. */
function cancelAfterFirstBytes(session: http2.ClientHttp2Session, path: string, body: Buffer, test: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", "x-test": test });
    stream.once("data", () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      resolve();
    });
    stream.on("error", reject);
    stream.end(body);
  });
}
