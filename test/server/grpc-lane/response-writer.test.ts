import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { ListSymbolsResponseSchema } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { ResponseWriter, type ResponseLimits } from "../../../src/server/grpc-lane/response-writer.js";
import { neverIndexedHeaders } from "../../support/raw-http.js";
import { startHttp2Pair, type Http2Pair } from "../../support/http2-pair.js";

const LIMITS: ResponseLimits = { writeMaxBytes: 1 << 20, compressMinBytes: 64 };
const small = create(ListSymbolsResponseSchema, { symbols: [{ symbolId: 13, symbol: "NIFTY 50" }] });
const large = create(ListSymbolsResponseSchema, {
  symbols: Array.from({ length: 50 }, (_, i) => ({ symbolId: i + 1, symbol: `SYMBOL ${i + 1}` })),
});

describe("ResponseWriter", () => {
  let pair: Http2Pair;
  before(async () => {
    pair = await startHttp2Pair();
  });
  after(() => pair.close());

  const writerFor = async (compression = false, limits = LIMITS) => {
    const { server, answer } = await pair.open();
    return { writer: new ResponseWriter(server, ListSymbolsResponseSchema, compression ? compressionGzip : null, limits), answer };
  };

  it("answers with headers, the message and OK trailers", async () => {
    const { writer, answer } = await writerFor();
    writer.sendHeaders(undefined);
    writer.end(undefined, writer.frame(small));
    const got = await answer;
    assert.equal(got.headers[":status"], 200);
    assert.equal(got.headers["content-type"], "application/grpc+proto");
    assert.equal(got.headers["grpc-encoding"], undefined);
    assert.deepEqual(got.body.subarray(5), Buffer.from(toBinary(ListSymbolsResponseSchema, small)));
    assert.equal(got.trailers["grpc-status"], "0");
  });

  it("sends the request id as a header never indexed, on an answer and on a trailers-only error", async () => {
    for (const answerWith of ["message", "error"] as const) {
      const { server, answer } = await pair.open();
      const writer = new ResponseWriter(server, ListSymbolsResponseSchema, null, LIMITS, `call-${answerWith}`);
      if (answerWith === "message") {
        writer.sendHeaders(undefined);
        writer.end(undefined, writer.frame(small));
      } else {
        writer.fail(new ConnectError("no such symbol", Code.NotFound), undefined, undefined);
      }
      const got = await answer;
      assert.equal(got.headers["x-request-id"], `call-${answerWith}`);
      // What the client's HPACK decoder was told: a literal it must never index.
      assert.deepEqual(neverIndexedHeaders(got.headers), ["x-request-id"], answerWith);
    }
  });

  it("indexes every header of an answer without a request id", async () => {
    const { writer, answer } = await writerFor();
    writer.sendHeaders(undefined);
    writer.end(undefined, writer.frame(small));
    const got = await answer;
    assert.deepEqual(neverIndexedHeaders(got.headers), []);
  });

  it("sends the call's own headers and trailers, and the headers only once", async () => {
    const { writer, answer } = await writerFor(true);
    writer.sendHeaders(new Headers({ "x-header": "h" }));
    writer.sendHeaders(new Headers({ "x-header": "again" }));
    writer.end(new Headers({ "x-trailer": "t" }));
    const got = await answer;
    assert.equal(got.headers["x-header"], "h");
    assert.equal(got.headers["grpc-encoding"], "gzip");
    assert.equal(got.trailers["x-trailer"], "t");
    assert.equal(got.trailers["grpc-status"], "0");
  });

  it("compresses a message of compressMinBytes or more, and no smaller one", async () => {
    const { writer, answer } = await writerFor(true);
    const [big, little] = [await writer.encode(large), await writer.encode(small)];
    assert.equal(big[0], 1);
    assert.equal(little[0], 0);
    assert.deepEqual(fromBinary(ListSymbolsResponseSchema, gunzipSync(big.subarray(5))), large);
    writer.sendHeaders(undefined);
    writer.end(undefined);
    await answer;
  });

  it("refuses a message over writeMaxBytes with RESOURCE_EXHAUSTED, in Connect's words", async () => {
    const { writer, answer } = await writerFor(false, { ...LIMITS, writeMaxBytes: 10 });
    const size = toBinary(ListSymbolsResponseSchema, small).length;
    assert.throws(
      () => writer.frame(small),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.ResourceExhausted &&
        e.rawMessage === `message size ${size} is larger than configured writeMaxBytes 10`,
    );
    await assert.rejects(writer.encode(small), (e: unknown) => e instanceof ConnectError && e.code === Code.ResourceExhausted);
    writer.fail(new ConnectError("too big", Code.ResourceExhausted), undefined, undefined);
    assert.equal((await answer).status, String(Code.ResourceExhausted));
  });

  it("frames a frozen message once, however often it is sent", async () => {
    const { writer, answer } = await writerFor();
    const frozen = Object.freeze(create(ListSymbolsResponseSchema, { symbols: [{ symbolId: 1 }] }));
    assert.equal(writer.frame(frozen), writer.frame(frozen));
    assert.notEqual(writer.frame(small), writer.frame(small));
    writer.fail(new ConnectError("done", Code.Aborted), undefined, undefined);
    await answer;
  });

  it("fails a call without headers in one trailers-only HEADERS frame", async () => {
    const { writer, answer } = await writerFor();
    writer.fail(new ConnectError("no such symbol", Code.NotFound), undefined, new Headers({ "x-trailer": "t" }));
    const got = await answer;
    // Trailers-only: the status arrives with the response headers.
    assert.equal(got.headers["grpc-status"], String(Code.NotFound));
    assert.equal(got.headers["content-type"], "application/grpc+proto");
    assert.equal(got.headers["x-trailer"], "t");
    assert.equal(got.body.length, 0);
  });

  it("fails a call that set headers with those headers first, then the status in trailers", async () => {
    const { writer, answer } = await writerFor(true);
    writer.fail(new ConnectError("no such symbol", Code.NotFound), new Headers({ "x-header": "h" }), new Headers({ "x-trailer": "t" }));
    const got = await answer;
    assert.equal(got.headers["x-header"], "h");
    assert.equal(got.headers["grpc-encoding"], "gzip");
    assert.equal(got.headers["grpc-status"], undefined);
    assert.equal(got.trailers["grpc-status"], String(Code.NotFound));
    assert.equal(got.trailers["x-trailer"], "t");
    assert.equal(got.body.length, 0);
  });

  it("echoes the call's request id on an answer and on a trailers-only error", async () => {
    for (const fail of [false, true]) {
      const { server, answer } = await pair.open();
      const writer = new ResponseWriter(server, ListSymbolsResponseSchema, null, LIMITS, "req-7");
      if (fail) writer.fail(new ConnectError("no such symbol", Code.NotFound), undefined, undefined);
      else {
        writer.sendHeaders(undefined);
        writer.end(undefined, writer.frame(small));
      }
      const got = await answer;
      assert.equal(got.headers["x-request-id"], "req-7");
      assert.equal(got.headers["grpc-status"], fail ? String(Code.NotFound) : undefined);
    }
  });

  it("fails a call whose messages went out with status trailers after them", async () => {
    const { writer, answer } = await writerFor();
    writer.sendHeaders(undefined);
    writer.stream.write(writer.frame(small));
    writer.fail(new ConnectError("stream broke", Code.Unavailable), undefined, undefined);
    const got = await answer;
    assert.equal(got.headers["grpc-status"], undefined);
    assert.equal(got.trailers["grpc-status"], String(Code.Unavailable));
    assert.equal(decodeURIComponent(got.message ?? ""), "stream broke");
    assert.equal(got.body.length, 5 + toBinary(ListSymbolsResponseSchema, small).length);
  });
});
