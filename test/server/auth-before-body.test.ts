import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { scrapeMetrics } from "../support/prometheus.js";

const PUBLISH = "/stockify.v1.MarketFeedService/PublishTicks";
const READER = "reader-secret";
const WRITER = "writer-secret";

/** The start of a compressed body far larger than anything worth inflating, which the client never finishes sending. */
const BOMB_START = gzipSync(Buffer.alloc(8 << 20)).subarray(0, 4096);

/** HalfAnswer is what came back for a call whose body was still being sent. */
interface HalfAnswer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * answerBeforeBody starts a call, sends the first bytes of its body and
 * never the rest: only a server that decides from the headers can answer.
 */
function answerBeforeBody(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  firstBytes: Buffer,
  waitMs = 3000,
): Promise<HalfAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": PUBLISH, ...headers }, { endStream: false });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error("no answer while the body was still being sent"));
    }, waitMs);
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ status: Number(responseHeaders[":status"]), headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    stream.write(firstBytes);
  });
}

/** A gRPC frame header announcing a large compressed message, then its first bytes. */
const framedBomb = () => {
  const prefix = Buffer.alloc(5);
  prefix[0] = 1;
  prefix.writeUInt32BE(1 << 20, 1);
  return Buffer.concat([prefix, BOMB_START]);
};

const grpcStatus = (answer: HalfAnswer) => answer.trailers["grpc-status"] ?? answer.headers["grpc-status"] ?? trailerFrameStatus(answer.body);
function trailerFrameStatus(body: Buffer): string | undefined {
  if (body.length < 5 || !(body[0]! & 0x80)) return undefined;
  return /grpc-status:\s*(\d+)/.exec(body.toString("latin1", 5))?.[1];
}

for (const lane of GRPC_LANES) {
  describe(`calls refused from their headers, before their body, ${lane.name}`, () => {
    let gateway: TestGateway;
    let session: http2.ClientHttp2Session;

    before(async () => {
      gateway = await startGateway({ ...lane.env, AUTH_TOKENS: `${READER}:read,${WRITER}:write` });
      session = http2.connect(gateway.baseUrl);
    });
    after(async () => {
      session.close();
      await gateway.close();
    });

    it("answers a gRPC call with no token UNAUTHENTICATED while its compressed body is still arriving", async () => {
      const answer = await answerBeforeBody(session, { "content-type": "application/grpc", te: "trailers", "grpc-encoding": "gzip" }, framedBomb());
      assert.equal(grpcStatus(answer), "16");
      assert.match(String(answer.trailers["www-authenticate"] ?? answer.headers["www-authenticate"]), /Bearer realm=/);
    });

    it("answers a gRPC call whose token lacks the scope PERMISSION_DENIED before its body", async () => {
      const answer = await answerBeforeBody(
        session,
        { "content-type": "application/grpc", te: "trailers", "grpc-encoding": "gzip", authorization: `Bearer ${READER}` },
        framedBomb(),
      );
      assert.equal(grpcStatus(answer), "7");
    });

    it("answers a gRPC-Web call with no token UNAUTHENTICATED before its body", async () => {
      const answer = await answerBeforeBody(session, { "content-type": "application/grpc-web+proto", "grpc-encoding": "gzip" }, framedBomb());
      assert.equal(grpcStatus(answer), "16");
    });

    it("answers a Connect call with no token 401 unauthenticated before its gzip body", async () => {
      const answer = await answerBeforeBody(session, { "content-type": "application/proto", "content-encoding": "gzip" }, BOMB_START);
      assert.equal(answer.status, 401);
      assert.equal((JSON.parse(answer.body.toString()) as { code: string }).code, "unauthenticated");
      assert.match(String(answer.headers["www-authenticate"]), /Bearer realm=/);
    });

    it("answers a Connect JSON call with a read token 403 permission_denied before its body", async () => {
      const answer = await answerBeforeBody(
        session,
        { "content-type": "application/json", "content-encoding": "gzip", authorization: `Bearer ${READER}` },
        BOMB_START,
      );
      assert.equal(answer.status, 403);
      assert.equal((JSON.parse(answer.body.toString()) as { code: string }).code, "permission_denied");
    });

    it("answers a REST POST with no token 401 before its body", async () => {
      const answer = await answerBeforeBody(session, { ":path": "/v1/ticks", "content-type": "application/json", "content-length": "10000000" }, Buffer.from('{"ticks":['));
      assert.equal(answer.status, 401);
      assert.equal((JSON.parse(answer.body.toString()) as { code: string }).code, "unauthenticated");
      assert.match(String(answer.headers["www-authenticate"]), /Bearer realm=/);
    });

    it("answers a REST POST with a read token 403 before its body", async () => {
      const answer = await answerBeforeBody(
        session,
        { ":path": "/v1/ticks", "content-type": "application/json", authorization: `Bearer ${READER}` },
        Buffer.from('{"ticks":['),
      );
      assert.equal(answer.status, 403);
    });

    it("counts each refusal as a call, as one refused after its body would be", async () => {
      const metric = await scrapeMetrics(gateway.baseUrl);
      const method = "stockify.v1.MarketFeedService/PublishTicks";
      assert.equal(metric("grpc_requests_total", { method, protocol: "grpc", status: "UNAUTHENTICATED" }), 1);
      assert.equal(metric("grpc_requests_total", { method, protocol: "grpc", status: "PERMISSION_DENIED" }), 1);
      assert.equal(metric("grpc_requests_total", { method, protocol: "grpc-web", status: "UNAUTHENTICATED" }), 1);
      assert.equal(metric("grpc_requests_total", { method, protocol: "connect", status: "UNAUTHENTICATED" }), 1);
      assert.equal(metric("grpc_requests_total", { method, protocol: "connect", status: "PERMISSION_DENIED" }), 1);
    });

    it("still reads the body of a call with the right token", async () => {
      await assert.rejects(
        answerBeforeBody(session, { "content-type": "application/grpc", te: "trailers", "grpc-encoding": "gzip", authorization: `Bearer ${WRITER}` }, framedBomb(), 500),
        /no answer while the body was still being sent/,
      );
    });
  });
}
