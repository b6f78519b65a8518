import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { GetSnapshotRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { StreamTicksRequestSchema } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { frame } from "../support/raw-grpc.js";

const DEADLINE_MS = 400;
/** How long a trickling client keeps sending: long past every deadline. */
const TRICKLE_MS = 4000;
const TRICKLE_EVERY_MS = 100;
const ENV = { FIRST_BYTE_TIMEOUT_MS: `${DEADLINE_MS}`, HEADERS_TIMEOUT_MS: `${DEADLINE_MS}`, BODY_TIMEOUT_MS: `${DEADLINE_MS}` };
const GET = "/stockify.v1.MarketDataService/GetSnapshot";

/**
 * trickle sends `bytes` on a raw socket one at a time, a byte every 100 ms
 * (so an idle timeout never fires), and tells how long the server let the
 * connection live and what it answered; the socket is closed by the test
 * after TRICKLE_MS if the server never closed it.
 */
function trickle(port: number, head: string, bytes: Buffer): Promise<{ closedAfterMs: number; closedByServer: boolean; answer: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const started = Date.now();
    const received: Buffer[] = [];
    let at = 0;
    let closedByServer = true;
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => {});
    socket.write(head);
    const timer = setInterval(() => {
      if (socket.destroyed) return;
      if (Date.now() - started > TRICKLE_MS || at >= bytes.length) {
        closedByServer = false;
        socket.destroy();
        return;
      }
      socket.write(bytes.subarray(at, ++at));
    }, TRICKLE_EVERY_MS);
    socket.once("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, closedByServer, answer: Buffer.concat(received).toString("latin1") });
    });
  });
}

/** trickleHttp2 starts a call on an HTTP/2 session and sends its body a byte every 100 ms. */
function trickleHttp2(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ status: string | undefined; afterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const stream = session.request({ ":method": "POST", ":path": GET, ...headers }, { endStream: false });
    let status: string | undefined;
    let at = 0;
    const take = (h: http2.IncomingHttpHeaders) => (status ??= h["grpc-status"] as string | undefined);
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", (chunk: Buffer) => {
      // gRPC-Web carries its status in a trailer frame.
      if (chunk[0]! & 0x80) status ??= /grpc-status:\s*(\d+)/.exec(chunk.toString("latin1", 5))?.[1];
    });
    stream.on("error", () => {});
    const timer = setInterval(() => {
      if (stream.destroyed || at >= body.length - 1 || Date.now() - started > TRICKLE_MS) return;
      stream.write(body.subarray(at, ++at));
    }, TRICKLE_EVERY_MS);
    stream.once("close", () => {
      clearInterval(timer);
      resolve({ status, afterMs: Date.now() - started });
    });
    // Never finished: only a deadline ends this call.
    setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), TRICKLE_MS + 1000).unref();
  });
}

/** frameHeader is an HTTP/2 frame's 9-byte header. */
function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return header;
}

/**
 * trickleHeaderBlock opens an h2c connection, starts a request's header
 * block with HEADERS without END_HEADERS, and then sends one CONTINUATION
 * of one byte every 300 ms, never ending the block; it tells how long the
 * server let the connection live and the GOAWAY it sent, if any.
 */
function trickleHeaderBlock(
  port: number,
): Promise<{ closedAfterMs: number; closedByServer: boolean; continuations: number; goaway: { code: number; debug: string } | undefined }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const started = Date.now();
    const received: Buffer[] = [];
    let continuations = 0;
    let closedByServer = true;
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => {});
    socket.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
    socket.write(frameHeader(0, 0x4, 0, 0));
    // :method POST, then a header x whose 227-byte value the CONTINUATION frames carry a byte at a time.
    const start = Buffer.from([0x83, 0x00, 0x01, 0x78, 0x7f, 0x64]);
    socket.write(Buffer.concat([frameHeader(start.length, 0x1, 0x1, 1), start]));
    const timer = setInterval(() => {
      if (socket.destroyed) return;
      if (Date.now() - started > TRICKLE_MS) {
        closedByServer = false;
        socket.destroy();
        return;
      }
      socket.write(Buffer.concat([frameHeader(1, 0x9, 0, 1), Buffer.from("a")]));
      continuations++;
    }, 300);
    socket.once("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, closedByServer, continuations, goaway: goawayIn(Buffer.concat(received)) });
    });
  });
}

/** goawayIn finds the GOAWAY among the frames a server sent, after its SETTINGS. */
function goawayIn(bytes: Buffer): { code: number; debug: string } | undefined {
  for (let at = 0; at + 9 <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === 0x7 && at + 9 + length <= bytes.length) {
      return { code: bytes.readUInt32BE(at + 13), debug: bytes.toString("utf8", at + 17, at + 9 + length) };
    }
    at += 9 + length;
  }
  return undefined;
}

/** A body long enough to trickle for longer than TRICKLE_MS. */
const longRequest = () => {
  const message = toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: 13 }));
  const body = Buffer.alloc(5 + 100 + message.length);
  body.writeUInt32BE(100 + message.length, 1);
  return body;
};

describe("slow clients against the one port's deadlines", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway(ENV);
  });
  after(() => gateway.close());

  it("closes a connection that trickles the h2c preface a byte at a time, at the deadline", async () => {
    const result = await trickle(gateway.port, "P", Buffer.from("RI * HTTP/2.0\r\n\r\nSM\r\n\r\n".repeat(4)));
    assert.ok(result.closedByServer, "the server let the trickling client stay");
    assert.ok(result.closedAfterMs < TRICKLE_MS / 2, `closed after ${result.closedAfterMs} ms`);
  });

  it("closes an HTTP/1.1 connection that trickles its headers, at the deadline", async () => {
    const result = await trickle(gateway.port, "GET /healthz HTTP/1.1\r\nhost: x\r\n", Buffer.from("x-slow: 1\r\n".repeat(100)));
    assert.ok(result.closedByServer, "the server let the trickling client stay");
    assert.ok(result.closedAfterMs < TRICKLE_MS / 2, `closed after ${result.closedAfterMs} ms`);
    assert.match(result.answer, /^HTTP\/1\.1 408/);
  });

  it("closes an HTTP/1.1 request that trickles its body, at the deadline", async () => {
    const body = Buffer.from(`{"symbolId":13${" ".repeat(200)}}`);
    const head = `POST /stockify.v1.MarketDataService/GetSnapshot HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
    const result = await trickle(gateway.port, head, body);
    assert.ok(result.closedByServer, "the server let the trickling client stay");
    assert.ok(result.closedAfterMs < TRICKLE_MS / 2, `closed after ${result.closedAfterMs} ms`);
  });

  it("closes an HTTP/2 connection whose header block trickles in CONTINUATION frames, at the deadline, serving others meanwhile", async () => {
    const trickled = trickleHeaderBlock(gateway.port);
    // Another connection is served while the block trickles.
    const session = http2.connect(gateway.baseUrl);
    const [ok] = await Promise.all([
      new Promise<number | undefined>((resolve, reject) => {
        const stream = session.request({ ":method": "GET", ":path": "/healthz" });
        stream.on("response", (h) => resolve(h[":status"]));
        stream.on("error", reject);
        stream.resume();
      }),
      new Promise((resolve) => setTimeout(resolve, DEADLINE_MS / 2)),
    ]);
    session.close();
    assert.equal(ok, 200);
    const result = await trickled;
    assert.ok(result.closedByServer, "the server let the trickling client stay");
    // nghttp2 itself ends a block after 8 CONTINUATION frames (2.4 s here): this must come first.
    assert.ok(result.closedAfterMs < DEADLINE_MS + 800, `closed after ${result.closedAfterMs} ms`);
    assert.ok(result.continuations < 8, `${result.continuations} CONTINUATION frames sent`);
    assert.equal(result.goaway?.code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.match(result.goaway?.debug ?? "", /header block not completed within 400 ms/);
  });

  it("keeps serving callers that are not slow", async () => {
    const response = await fetch(`${gateway.baseUrl}/healthz`);
    assert.equal(response.status, 200);
  });
});

for (const lane of GRPC_LANES) {
  describe(`slow request bodies over HTTP/2, ${lane.name}`, () => {
    let gateway: TestGateway;
    let session: http2.ClientHttp2Session;
    before(async () => {
      gateway = await startGateway({ ...lane.env, ...ENV });
      session = http2.connect(gateway.baseUrl);
    });
    after(async () => {
      session.close();
      await gateway.close();
    });

    it("ends a gRPC call whose body trickles with DEADLINE_EXCEEDED at the body deadline", async () => {
      const result = await trickleHttp2(session, { "content-type": "application/grpc", te: "trailers" }, longRequest());
      assert.equal(result.status, "4");
      assert.ok(result.afterMs < TRICKLE_MS / 2, `answered after ${result.afterMs} ms`);
    });

    it("ends a gRPC-Web call whose body trickles with DEADLINE_EXCEEDED at the body deadline", async () => {
      const result = await trickleHttp2(session, { "content-type": "application/grpc-web+proto" }, longRequest());
      assert.equal(result.status, "4");
      assert.ok(result.afterMs < TRICKLE_MS / 2, `answered after ${result.afterMs} ms`);
    });

    it("leaves a client stream open past the body deadline: producers stream for as long as they like", async () => {
      const stream = session.request({
        ":method": "POST",
        ":path": "/stockify.v1.MarketFeedService/StreamTicks",
        "content-type": "application/grpc",
        te: "trailers",
      });
      let status: string | undefined;
      stream.on("trailers", (t) => (status = t["grpc-status"] as string));
      stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
      stream.resume();
      const tick = toBinary(StreamTicksRequestSchema, create(StreamTicksRequestSchema, { ticks: [{ symbolId: 13, ltp: 24351 }] }));
      stream.write(frame(tick));
      await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS * 3));
      assert.equal(status, undefined, "the stream was ended before its producer finished");
      stream.end(frame(tick));
      await new Promise((resolve) => stream.once("close", resolve));
      assert.equal(status, "0");
    });
  });
}
