import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { startGateway } from "../support/gateway.js";
import { laneDifferential, type LaneCase } from "../support/lane-differential.js";
import { comparable, http1Request, rawHttp1 } from "../support/raw-http.js";

// One time for both gateways, so that their snapshots (and entity tags) are the same bytes.
const T0 = Math.floor(Date.now() / 1000) * 1000;
const SEED = [
  { symbolId: 13, symbol: "NIFTY 50", ltp: 24350.5, volume: 100, bid: 24350.45, ask: 24350.55, exchangeTimeMs: T0 },
  { symbolId: 25, symbol: "BANK NIFTY", ltp: 52100, volume: 50, exchangeTimeMs: T0 },
  ...Array.from({ length: 60 }, (_, i) => ({ symbolId: 1000 + i, symbol: `SYN${1000 + i}`, ltp: 100 + i, exchangeTimeMs: T0 })),
];
const READ = { authorization: "Bearer reader-token" };
const ENV = {
  AUTH_TOKENS: "reader-token:read,writer-token:write",
  COMPRESS_MIN_BYTES: "256",
  MAX_DEADLINE_MS: "60000",
};
const SNAPSHOT_TAG = `"13.1.${T0}"`;


const get = (path: string, headers: Record<string, string> = READ, lane?: boolean) => ({ method: "GET" as const, path, headers, lane });

/** Requests both gateways must answer byte for byte alike, good and bad. */
const CASES: LaneCase[] = [
  { name: "a snapshot", ...get("/v1/snapshots/13") },
  { name: "a caller's request id", ...get("/v1/snapshots/25", { ...READ, "x-request-id": "abc-123" }) },
  { name: "an unknown symbol (NOT_FOUND, 404)", ...get("/v1/snapshots/4242") },
  { name: "symbol 0 (INVALID_ARGUMENT, 400)", ...get("/v1/snapshots/0") },
  { name: "a batch by query", ...get("/v1/snapshots?symbol_ids=13&symbol_ids=25") },
  { name: "a batch with a missing symbol", ...get("/v1/snapshots?symbol_ids=13&symbol_ids=999") },
  { name: "the symbol list", ...get("/v1/symbols") },
  { name: "the symbol list, gzip", ...get("/v1/symbols", { ...READ, "accept-encoding": "gzip" }) },
  { name: "the symbol list, br", ...get("/v1/symbols", { ...READ, "accept-encoding": "br" }) },
  { name: "the symbol list, br preferred by weight", ...get("/v1/symbols", { ...READ, "accept-encoding": "gzip;q=0.5, br" }) },
  { name: "the symbol list, any encoding", ...get("/v1/symbols", { ...READ, "accept-encoding": "*" }) },
  { name: "the symbol list, an encoding not offered", ...get("/v1/symbols", { ...READ, "accept-encoding": "deflate" }) },
  { name: "the symbol list, identity", ...get("/v1/symbols", { ...READ, "accept-encoding": "identity" }) },
  { name: "the symbol list, x-no-compression", ...get("/v1/symbols", { ...READ, "accept-encoding": "gzip", "x-no-compression": "1" }) },
  { name: "a small answer for a gzip caller", ...get("/v1/snapshots/13", { ...READ, "accept-encoding": "gzip, deflate, br" }) },
  { name: "If-None-Match with the tag (304)", ...get("/v1/snapshots/13", { ...READ, "if-none-match": SNAPSHOT_TAG }) },
  { name: "If-None-Match with a weak tag (304)", ...get("/v1/snapshots/13", { ...READ, "if-none-match": `W/${SNAPSHOT_TAG}` }) },
  { name: "If-None-Match with another tag", ...get("/v1/snapshots/13", { ...READ, "if-none-match": '"13.0.0"' }) },
  { name: "candles of a symbol", ...get("/v1/symbols/13/candles?interval=1m") },
  { name: "a timeout the call meets", ...get("/v1/snapshots/13", { ...READ, "connect-timeout-ms": "5000" }) },
  { name: "no token (UNAUTHENTICATED, 401)", ...get("/v1/snapshots/13", {}) },
  { name: "an unknown token", ...get("/v1/snapshots/13", { authorization: "Bearer nope" }) },
  // What the lane leaves to the Fastify route gets the route's answer on both.
  { name: "a path value that is not a number", ...get("/v1/snapshots/abc", READ, false) },
  { name: "an unknown query parameter", ...get("/v1/snapshots/13?colour=red", READ, false) },
  { name: "a percent-escaped path", ...get("/v1/snapshots/%31%33", READ, false) },
  { name: "a path value longer than a route takes", ...get(`/v1/snapshots/${"1".repeat(101)}`, READ, false) },
  { name: "a malformed timeout", ...get("/v1/snapshots/13", { ...READ, "connect-timeout-ms": "soon" }, false) },
  { name: "a timeout beyond MAX_DEADLINE_MS", ...get("/v1/snapshots/13", { ...READ, "connect-timeout-ms": "120000" }, false) },
  { name: "a GET of a POST-only path (405)", ...get("/v1/ticks", READ, false) },
  { name: "a stream", ...get("/v1/snapshots:stream?symbol_ids=13&max_updates=1", READ, false) },
  { name: "a path no rule has", ...get("/v1/nothing", READ, false) },
];

describe("the REST lane and the Fastify routes, through the gateway", () => {
  const gateways = laneDifferential({ env: ENV, seed: SEED, laneOff: { REST_LANE: "off" }, cases: CASES, laneRequestId: /^rest-\d+$/ });

  it("compresses a large answer that the caller accepts gzip for, and says so", async () => {
    const answer = comparable(await rawHttp1(gateways().lean.port, http1Request(get("/v1/symbols", { ...READ, "accept-encoding": "gzip" }), gateways().lean.port)));
    assert.match(answer.head, /\r\nvary: accept-encoding\r\ncontent-encoding: gzip\r\n/);
    const list = JSON.parse(gunzipSync(answer.body).toString()) as { symbols: unknown[] };
    assert.equal(list.symbols.length, SEED.length);
    assert.match(String(answer.requestId), /^rest-\d+$/);
  });

  it("answers If-None-Match with the snapshot's tag with 304 and no body", async () => {
    const answer = comparable(await rawHttp1(gateways().lean.port, http1Request(get("/v1/snapshots/13", { ...READ, "if-none-match": SNAPSHOT_TAG }), gateways().lean.port)));
    assert.match(answer.head, /^HTTP\/1\.1 304 /);
    assert.equal(answer.body.length, 0);
    assert.match(String(answer.requestId), /^rest-\d+$/);
  });

  it("answers the caller that went away with nothing, and serves the next", async () => {
    // A connection that sends its request and closes at once.
    await rawHttp1(gateways().lean.port, Buffer.from("GET /v1/snapshots/13 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer reader-token\r\n\r\n")).catch(() => undefined);
    const after = await fetch(`${gateways().lean.baseUrl}/v1/snapshots/13`, { headers: READ });
    assert.equal(after.status, 200);
  });
});

describe("the REST lane, where Fastify's hooks must see every call", () => {
  for (const [name, env] of [
    ["CORS_ORIGINS", { CORS_ORIGINS: "https://app.example" }],
    ["RATE_LIMIT_MAX", { RATE_LIMIT_MAX: "1000" }],
  ] as const) {
    it(`leaves REST to the Fastify routes with ${name} set`, async () => {
      const gateway = await startGateway(env);
      try {
        const response = await fetch(`${gateway.baseUrl}/v1/snapshots/13`);
        assert.equal(response.status, 200);
        assert.match(String(response.headers.get("x-request-id")), /^req-/);
      } finally {
        await gateway.close();
      }
    });
  }
});
