import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { GetSnapshotRequestSchema, SubscribeSnapshotsRequestSchema } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGateway, type TestGateway } from "../../support/gateway.js";
import { frame } from "../../support/raw-grpc.js";
import { h2Call } from "../../support/raw-http.js";

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
const SUBSCRIBE = "/stockify.v1.MarketDataService/SubscribeSnapshots";
const READ = "Bearer reader-token";
const BINARY = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: READ };
const TEXT = { ...BINARY, "content-type": "application/grpc-web-text" };
/** Whole 4-character groups, each maybe padded: base64 that decodes by itself. */
const PADDED_BASE64 = /^(?:[A-Za-z0-9+/]{2}(?:==|[A-Za-z0-9+/]=|[A-Za-z0-9+/]{2}))+$/;

const get = (symbolId: number) => frame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId })));
const subscribe = (symbolIds: number[]) => frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds })));
const base64 = (bytes: Uint8Array) => Buffer.from(Buffer.from(bytes).toString("base64"), "latin1");

/** decodeText decodes a grpc-web-text answer made of padded chunks. */
function decodeText(text: string): Buffer {
  assert.match(text, PADDED_BASE64);
  return Buffer.concat((text.match(/[^=]*=*/g) ?? []).filter((run) => run !== "").map((run) => Buffer.from(run, "base64")));
}

describe("grpc-web-text", () => {
  let gateway: TestGateway;
  let session: http2.ClientHttp2Session;
  before(async () => {
    gateway = await startGateway({ AUTH_TOKENS: "reader-token:read" });
    session = http2.connect(gateway.baseUrl);
  });
  after(async () => {
    session.close();
    await gateway.close();
  });

  it("answers a unary call over HTTP/1.1 with the binary call's frames, base64", async () => {
    const [text, binary] = await Promise.all([
      fetch(gateway.baseUrl + GET, { method: "POST", headers: TEXT, body: new Uint8Array(base64(get(13))) }),
      fetch(gateway.baseUrl + GET, { method: "POST", headers: BINARY, body: new Uint8Array(get(13)) }),
    ]);
    assert.equal(text.status, 200);
    assert.equal(text.headers.get("content-type"), "application/grpc-web-text+proto");
    const binaryBody = Buffer.from(await binary.arrayBuffer());
    assert.ok(binaryBody.length > 20, "the binary call has a message and a trailer");
    assert.deepEqual(decodeText(await text.text()), binaryBody);
  });

  it("answers a unary call over HTTP/2 alike, for the +proto type and padding inside the body", async () => {
    // Two padded runs, as a client that flushes its text in pieces sends them.
    const request = get(25);
    const body = Buffer.concat([base64(request.subarray(0, 4)), base64(request.subarray(4))]);
    const [text, binary] = await Promise.all([
      h2Call(session, { path: GET, headers: { ...TEXT, "content-type": "application/grpc-web-text+proto" }, body }),
      h2Call(session, { path: GET, headers: BINARY, body: request }),
    ]);
    assert.equal(text.headers[":status"], 200);
    assert.equal(text.headers["content-type"], "application/grpc-web-text+proto");
    assert.deepEqual(decodeText(text.body.toString("latin1")), binary.body);
  });

  it("streams a server stream over HTTP/2 a frame at a time, each chunk base64 by itself", async () => {
    const [text, binary] = await Promise.all([firstChunks(TEXT, base64(subscribe([13, 25]))), firstChunks(BINARY, subscribe([13, 25]))]);
    assert.equal(text.headers["content-type"], "application/grpc-web-text+proto");
    for (const chunk of text.chunks) assert.match(chunk.toString("latin1"), PADDED_BASE64, "every chunk decodes by itself");
    const decoded = Buffer.concat(text.chunks.map((chunk) => decodeText(chunk.toString("latin1"))));
    assert.deepEqual(decoded, Buffer.concat(binary.chunks).subarray(0, decoded.length));
    assert.equal(decoded[0], 0, "a message frame, not a trailer");
  });

  it("streams a server stream over HTTP/1.1 too, each chunk base64 by itself", async () => {
    const controller = new AbortController();
    const response = await fetch(gateway.baseUrl + SUBSCRIBE, {
      method: "POST",
      headers: TEXT,
      body: new Uint8Array(base64(subscribe([13, 25]))),
      signal: controller.signal,
    });
    assert.equal(response.headers.get("content-type"), "application/grpc-web-text+proto");
    const reader = response.body!.getReader();
    const decoded: Buffer[] = [];
    while (Buffer.concat(decoded).length < 2 * 5 + 2) {
      const { value } = await reader.read();
      assert.ok(value !== undefined, "the stream ended early");
      decoded.push(decodeText(Buffer.from(value).toString("latin1")));
    }
    controller.abort();
    const first = Buffer.concat(decoded);
    assert.equal(first[0], 0, "a message frame, not a trailer");
    const second = first.subarray(5 + first.readUInt32BE(1));
    assert.equal(second[0], 0, "a second message frame");
  });

  it("answers curl over HTTP/1.1 and h2c, as a grpc-web client without a library would call", async () => {
    for (const protocol of ["--http1.1", "--http2-prior-knowledge"]) {
      const { stdout } = await promisify(execFile)("curl", [
        "-sS",
        protocol,
        "-H",
        "content-type: application/grpc-web-text",
        "-H",
        `authorization: ${READ}`,
        "--data-binary",
        get(13).toString("base64"),
        gateway.baseUrl + GET,
      ]);
      const answer = decodeText(stdout);
      const trailer = answer.subarray(5 + answer.readUInt32BE(1));
      assert.equal(trailer[0], 0x80, protocol);
      assert.match(trailer.subarray(5).toString(), /grpc-status: 0/, protocol);
    }
  });

  it("refuses a body that is not base64 with 400 and INVALID_ARGUMENT, and goes on serving the connection", async () => {
    const bad = h2Call(session, { path: GET, headers: TEXT, body: Buffer.from("AAAA!!!!not-base64") });
    const badLength = fetch(gateway.baseUrl + GET, { method: "POST", headers: TEXT, body: "AAAAAQ" });
    const answer = await bad;
    assert.equal(answer.headers[":status"], 400);
    assert.equal(answer.headers["grpc-status"], "3");
    assert.match(decodeURIComponent(String(answer.headers["grpc-message"])), /not base64: "!!!!" at offset 4/);
    const http1 = await badLength;
    assert.equal(http1.status, 400);
    assert.equal(http1.headers.get("grpc-status"), "3");
    assert.match(decodeURIComponent(http1.headers.get("grpc-message") ?? ""), /not a multiple of 4/);

    const good = await h2Call(session, { path: GET, headers: TEXT, body: base64(get(13)) });
    assert.equal(good.headers[":status"], 200);
    assert.match(decodeText(good.body.toString("latin1")).toString("latin1"), /grpc-status: 0/);
  });

  it("refuses a call without a token before its body, as binary gRPC-Web does", async () => {
    const { authorization: _, ...anonymous } = TEXT;
    const answer = await h2Call(session, { path: GET, headers: anonymous, body: base64(get(13)) });
    assert.match(decodeText(answer.body.toString("latin1")).toString("latin1"), /grpc-status: 16/);
  });

  /** The response headers and the first two DATA chunks of a server stream, then a cancel. */
  function firstChunks(headers: Record<string, string>, body: Buffer): Promise<{ headers: http2.IncomingHttpHeaders; chunks: Buffer[] }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": SUBSCRIBE, ...headers });
      const chunks: Buffer[] = [];
      let response: http2.IncomingHttpHeaders = {};
      stream.on("response", (h) => (response = h));
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (chunks.length === 2) {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          resolve({ headers: response, chunks });
        }
      });
      stream.on("error", reject);
      stream.end(body);
    });
  }
});
