import { create, toBinary } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { describe } from "node:test";
import { gzipSync } from "node:zlib";
import { GetSnapshotRequestSchema } from "../../../src/gen/stockify/v1/market_data_service_pb.js";
import { laneDifferential, type LaneCase } from "../../support/lane-differential.js";

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
const PUBLISH = "/stockify.v1.MarketFeedService/PublishTicks";
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const proto = (symbolId: number) => Buffer.from(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId })));
const query = (params: Record<string, string>) => `${GET}?${new URLSearchParams(params)}`;

const JSON_TYPE = { "content-type": "application/json", authorization: READ };
const PROTO_TYPE = { "content-type": "application/proto", authorization: READ };

/** Requests both gateways must answer byte for byte alike, good and bad. */
const CASES: LaneCase[] = [
  { name: "a JSON call", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13 }) },
  { name: "a JSON call with a charset", path: GET, headers: { ...JSON_TYPE, "content-type": "application/json; charset=utf-8" }, body: json({ symbolId: 13 }) },
  { name: "a binary call", path: GET, headers: PROTO_TYPE, body: proto(25) },
  { name: "an unknown symbol (NOT_FOUND, 404)", path: GET, headers: JSON_TYPE, body: json({ symbolId: 4242 }) },
  { name: "symbol 0 (INVALID_ARGUMENT, 400)", path: GET, headers: PROTO_TYPE, body: proto(0) },
  { name: "a batch with a missing symbol", path: BATCH, headers: JSON_TYPE, body: json({ symbolIds: [13, 25, 999] }) },
  { name: "a GET with a JSON message", method: "GET", path: query({ encoding: "json", message: '{"symbolId":13}' }), headers: { authorization: READ } },
  {
    name: "a GET with a base64 binary message",
    method: "GET",
    path: query({ encoding: "proto", base64: "1", message: base64Encode(proto(25), "url") }),
    headers: { authorization: READ },
  },
  { name: "a GET with a malformed message", method: "GET", path: query({ encoding: "json", message: "{nope" }), headers: { authorization: READ } },
  { name: "malformed JSON", path: GET, headers: JSON_TYPE, body: Buffer.from("{nope") },
  { name: "JSON with an unknown field", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13, colour: "red" }) },
  { name: "JSON of the wrong type", path: GET, headers: JSON_TYPE, body: json({ symbolId: "thirteen" }) },
  { name: "an empty JSON body", path: GET, headers: JSON_TYPE, body: Buffer.alloc(0) },
  { name: "bytes that are not protobuf", path: GET, headers: PROTO_TYPE, body: Buffer.from([0xff, 0xff, 0xff, 0xff]) },
  {
    name: "a gzip-compressed request",
    path: GET,
    headers: { ...JSON_TYPE, "content-encoding": "gzip" },
    body: gzipSync(json({ symbolId: 13 })),
  },
  {
    name: "a body that claims gzip but is not",
    path: GET,
    headers: { ...JSON_TYPE, "content-encoding": "gzip" },
    body: json({ symbolId: 13 }),
  },
  {
    name: "a large answer compressed with gzip",
    path: BATCH,
    headers: { ...JSON_TYPE, "accept-encoding": "gzip" },
    body: json({ symbolIds: [13, 25, 1000, 1001, 1002, 1003] }),
  },
  {
    name: "a large answer compressed with br",
    path: BATCH,
    headers: { ...PROTO_TYPE, "accept-encoding": "br" },
    body: Buffer.from([0x08, 13, 0x08, 25, 0x08, 0xe8, 0x07, 0x08, 0xe9, 0x07]),
  },
  { name: "a body over MAX_MESSAGE_BYTES", path: GET, headers: JSON_TYPE, body: json({ symbolId: 13, pad: "x".repeat(5000) }) },
  { name: "an answer over MAX_MESSAGE_BYTES", path: BATCH, headers: JSON_TYPE, body: json({ symbolIds: SEED.map((s) => s.symbolId) }) },
  { name: "a malformed timeout", path: GET, headers: { ...JSON_TYPE, "connect-timeout-ms": "soon" }, body: json({ symbolId: 13 }) },
  { name: "a timeout beyond MAX_DEADLINE_MS", path: GET, headers: { ...JSON_TYPE, "connect-timeout-ms": "120000" }, body: json({ symbolId: 13 }) },
  { name: "a timeout the call meets", path: GET, headers: { ...JSON_TYPE, "connect-timeout-ms": "5000" }, body: json({ symbolId: 13 }) },
  { name: "no token (UNAUTHENTICATED, 401)", path: GET, headers: { "content-type": "application/json" }, body: json({ symbolId: 13 }) },
  { name: "an unknown token", path: GET, headers: { ...JSON_TYPE, authorization: "Bearer nope" }, body: json({ symbolId: 13 }) },
  { name: "a token without the scope (PERMISSION_DENIED, 403)", path: PUBLISH, headers: JSON_TYPE, body: json({ ticks: [] }) },
  { name: "a caller's request id", path: GET, headers: { ...JSON_TYPE, "x-request-id": "abc-123" }, body: json({ symbolId: 13 }) },
  // What the lane leaves to Connect's handler gets Connect's answer on both.
  { name: "an unknown content encoding", path: GET, headers: { ...JSON_TYPE, "content-encoding": "snappy" }, body: json({ symbolId: 13 }), lane: false },
  { name: "a GET of a method with side effects", method: "GET", path: `${PUBLISH}?encoding=json&message=%7B%7D`, headers: { authorization: READ }, lane: false },
  { name: "a GET without an encoding", method: "GET", path: `${GET}?message=%7B%7D`, headers: { authorization: READ }, lane: false },
  { name: "an unknown content type", path: GET, headers: { ...JSON_TYPE, "content-type": "text/plain" }, body: json({ symbolId: 13 }), lane: false },
];

describe("the Connect lane and connect-fastify, through the gateway", () => {
  laneDifferential({ env: ENV, seed: SEED, laneOff: { CONNECT_LANE: "off" }, cases: CASES, laneRequestId: /^connect-\d+$/ });
});
