import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { ListSymbolsResponseSchema, MarketDataService } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { GrpcCall } from "../../../src/server/grpc-lane/grpc-call.js";
import { ResponseWriter } from "../../../src/server/grpc-lane/response-writer.js";
import { startHttp2Pair, type Http2Pair, type StreamPair } from "../../support/http2-pair.js";
import { waitFor } from "../../support/transports.js";

const METHOD = MarketDataService.method.listSymbols;
const message = create(ListSymbolsResponseSchema, { symbols: [{ symbolId: 13 }] });

describe("GrpcCall", () => {
  let pair: Http2Pair;
  before(async () => {
    pair = await startHttp2Pair();
  });
  after(() => pair.close());

  const start = async (timeoutMs?: number, body?: Buffer | null): Promise<StreamPair & { call: GrpcCall; writer: ResponseWriter }> => {
    const opened = await pair.open(body);
    const writer = new ResponseWriter(opened.server, METHOD.output, null, { writeMaxBytes: 1 << 20, compressMinBytes: 1024 });
    const call = new GrpcCall(writer, {
      service: MarketDataService,
      method: METHOD,
      protocol: "grpc",
      requestMethod: "POST",
      url: "/stockify.v1.MarketDataService/ListSymbols",
      rawHeaders: {},
      timeoutMs,
    });
    return { ...opened, call, writer };
  };

  it("answers OK with the call's headers, message and trailers", async () => {
    const { call, writer, answer } = await start();
    assert.equal(call.ended, false);
    call.finish({ ok: true, header: new Headers({ "x-h": "1" }), trailer: new Headers({ "x-t": "2" }), message: writer.frame(message) });
    assert.equal(call.ended, true);
    const got = await answer;
    assert.equal(got.headers["x-h"], "1");
    assert.equal(got.trailers["x-t"], "2");
    assert.equal(got.status, "0");
    assert.ok(got.body.length > 5);
    // An answered call's close is no cancellation.
    assert.equal(call.control.signal.aborted, false);
  });

  it("sends only the first status", async () => {
    const { call, answer } = await start();
    call.finish({ ok: false, error: new ConnectError("first", Code.NotFound) });
    call.finish({ ok: false, error: new ConnectError("second", Code.Internal) });
    call.finish({ ok: true, header: undefined, trailer: undefined });
    const got = await answer;
    assert.equal(got.status, String(Code.NotFound));
    assert.equal(got.message, "first");
  });

  it("ends the handler's signal with the error it fails with", async () => {
    const { call, answer } = await start();
    const error = new ConnectError("no such symbol", Code.NotFound);
    call.finish({ ok: false, error });
    assert.equal(call.control.signal.reason, error);
    await answer;
  });

  it("ends the handler's signal on an error even after it answered, and writes nothing more", async () => {
    const { call, answer } = await start();
    call.finish({ ok: true, header: undefined, trailer: undefined });
    const error = new ConnectError("late", Code.Internal);
    call.finish({ ok: false, error });
    assert.equal(call.control.signal.reason, error);
    assert.equal((await answer).status, "0");
  });

  it("sends the trailers the handler set with an error", async () => {
    const { call, answer } = await start();
    call.control.context.responseTrailer.set("x-reason", "policy");
    call.finish({ ok: false, error: new ConnectError("denied", Code.PermissionDenied) });
    const got = await answer;
    assert.equal(got.trailers["x-reason"], "policy");
    assert.equal(got.status, String(Code.PermissionDenied));
  });

  it("is cancelled when the client goes before it answered, and then writes nothing", async () => {
    const { call, client } = await start(undefined, null);
    client.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => call.control.signal.aborted, 5000, "the call's signal to abort");
    const reason = call.control.signal.reason as ConnectError;
    assert.equal(reason.code, Code.Canceled);
    assert.equal(call.ended, true);
    call.finish({ ok: true, header: undefined, trailer: undefined });
    call.finish({ ok: false, error: new Error("after the client left") });
  });

  it("answers DEADLINE_EXCEEDED when its deadline passes", async () => {
    const { call, answer } = await start(30, null);
    const got = await answer;
    assert.equal(got.status, String(Code.DeadlineExceeded));
    assert.equal((call.control.signal.reason as ConnectError).code, Code.DeadlineExceeded);
  });

  it("keeps a stream error from taking the process down", async () => {
    const { server, answer } = await start();
    server.emit("error", new Error("a broken stream"));
    server.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await answer;
  });
});
