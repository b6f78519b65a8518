import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { GetBatchSnapshotsRequestSchema, GetSnapshotRequestSchema } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { laneDifferential, type LaneCase } from "../../support/lane-differential.js";
import { frame } from "../../support/raw-grpc.js";

// One time for both gateways, so that their snapshots are the same bytes.
const T0 = Math.floor(Date.now() / 1000) * 1000;
const SEED = [
  { symbolId: 13, symbol: "NIFTY 50", ltp: 24350.5, volume: 100, bid: 24350.45, ask: 24350.55, exchangeTimeMs: T0 },
  { symbolId: 25, symbol: "BANK NIFTY", ltp: 52100, volume: 50, exchangeTimeMs: T0 },
  ...Array.from({ length: 60 }, (_, i) => ({ symbolId: 1000 + i, symbol: `SYN${1000 + i}`, ltp: 100 + i, exchangeTimeMs: T0 })),
];
const READ = "Bearer reader-token";
/** Small limits, so that both sides meet them with small requests. */
const ENV = {
  AUTH_TOKENS: "reader-token:read,writer-token:write",
  MAX_MESSAGE_BYTES: "4096",
  COMPRESS_MIN_BYTES: "256",
  MAX_DEADLINE_MS: "60000",
};

const GET = "/stockify.v1.MarketDataService/GetSnapshot";
const BATCH = "/stockify.v1.MarketDataService/GetBatchSnapshots";
const SUBSCRIBE = "/stockify.v1.MarketDataService/SubscribeSnapshots";
const PUBLISH = "/stockify.v1.MarketFeedService/PublishTicks";
const get = (symbolId: number) => frame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId })));
const batch = (symbolIds: number[]) => frame(toBinary(GetBatchSnapshotsRequestSchema, create(GetBatchSnapshotsRequestSchema, { symbolIds })));
const json = (value: unknown) => frame(Buffer.from(JSON.stringify(value)));

const PROTO = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: READ };
const JSON_TYPE = { ...PROTO, "content-type": "application/grpc-web+json" };

/** Requests both gateways must answer byte for byte alike, good and bad. */
const CASES: LaneCase[] = [
  { name: "a binary call", path: GET, headers: PROTO, body: get(13) },
  { name: "a call with the bare content type", path: GET, headers: { ...PROTO, "content-type": "application/grpc-web" }, body: get(25) },
  { name: "a JSON call", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13 }) },
  { name: "an unknown symbol (NOT_FOUND)", path: GET, headers: PROTO, body: get(4242) },
  { name: "symbol 0 (INVALID_ARGUMENT)", path: GET, headers: PROTO, body: get(0) },
  { name: "a batch with a missing symbol", path: BATCH, headers: PROTO, body: batch([13, 25, 999]) },
  { name: "bytes that are not protobuf", path: GET, headers: PROTO, body: frame(Buffer.from([0xff, 0xff, 0xff, 0xff])) },
  { name: "malformed JSON", path: GET, headers: JSON_TYPE, body: frame(Buffer.from("{nope")) },
  { name: "JSON with an unknown field", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13, colour: "red" }) },
  { name: "JSON with a number in a string that is not one", path: GET, headers: JSON_TYPE, body: json({ symbolId: "0x0d" }) },
  { name: "a truncated message", path: GET, headers: PROTO, body: get(13).subarray(0, 6) },
  { name: "a torn length prefix", path: GET, headers: PROTO, body: get(13).subarray(0, 3) },
  { name: "no message at all", path: GET, headers: PROTO, body: Buffer.alloc(0) },
  { name: "two messages", path: GET, headers: PROTO, body: Buffer.concat([get(13), get(25)]) },
  {
    name: "a gzip-compressed request",
    path: GET,
    headers: { ...PROTO, "grpc-encoding": "gzip" },
    body: frame(gzipSync(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: 25 }))), true),
  },
  { name: "a compressed message without grpc-encoding", path: GET, headers: PROTO, body: frame(gzipSync(Buffer.from([8, 13])), true) },
  { name: "a large answer compressed with gzip", path: BATCH, headers: { ...PROTO, "grpc-accept-encoding": "gzip" }, body: batch([13, 25, 1000, 1001, 1002, 1003]) },
  { name: "a small answer where gzip is accepted", path: GET, headers: { ...PROTO, "grpc-accept-encoding": "gzip" }, body: get(13) },
  { name: "a body over MAX_MESSAGE_BYTES", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13, pad: "x".repeat(5000) }) },
  { name: "an answer over MAX_MESSAGE_BYTES", path: BATCH, headers: PROTO, body: batch(SEED.map((s) => s.symbolId)) },
  { name: "a malformed timeout", path: GET, headers: { ...PROTO, "grpc-timeout": "soon" }, body: get(13) },
  { name: "a timeout beyond MAX_DEADLINE_MS", path: GET, headers: { ...PROTO, "grpc-timeout": "120S" }, body: get(13) },
  { name: "a timeout the call meets", path: GET, headers: { ...PROTO, "grpc-timeout": "5S" }, body: get(13) },
  { name: "no token (UNAUTHENTICATED)", path: GET, headers: { "content-type": "application/grpc-web+proto" }, body: get(13) },
  { name: "an unknown token", path: GET, headers: { ...PROTO, authorization: "Bearer nope" }, body: get(13) },
  { name: "a token without the scope (PERMISSION_DENIED)", path: PUBLISH, headers: PROTO, body: frame(new Uint8Array(0)) },
  { name: "a caller's request id", path: GET, headers: { ...PROTO, "x-request-id": "abc-123" }, body: get(13) },
  // What the lane leaves to Connect's handler gets Connect's answer on both.
  { name: "an unknown encoding", path: GET, headers: { ...PROTO, "grpc-encoding": "snappy" }, body: get(13), lane: false },
  { name: "grpc-web-text", path: GET, headers: { ...PROTO, "content-type": "application/grpc-web-text" }, body: Buffer.from(get(13).toString("base64")), lane: false },
];

describe("the gRPC-Web lane and connect-fastify, through the gateway", () => {
  const gateways = laneDifferential({ env: ENV, seed: SEED, laneOff: { GRPC_WEB_LANE: "off" }, cases: CASES, laneRequestId: /^grpc-web-\d+$/ });

  it("leaves server streams to Connect's handler", async () => {
    const stream = gateways().leanH2.request({ ":method": "POST", ":path": SUBSCRIBE, ...PROTO });
    const answered = new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.once("response", resolve);
      stream.once("error", reject);
    });
    stream.end(frame(Buffer.from([8, 13])));
    const headers = await answered;
    stream.close(http2.constants.NGHTTP2_CANCEL);
    assert.equal(headers[":status"], 200);
    assert.match(String(headers["x-request-id"]), /^req-/);
  });
});
