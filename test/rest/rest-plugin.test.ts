import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { restPlugin } from "../../src/rest/rest-plugin.js";
import { registration } from "../../src/pipeline/service-registry.js";
import { createMarketDataService } from "../../src/services/market-data-service.js";

describe("REST plugin options", () => {
  let app: FastifyInstance | undefined;
  let market: Market | undefined;
  afterEach(async () => {
    await app?.close();
    await market?.close();
  });

  function marketData() {
    market = new Market(new MemorySnapshotStore());
    return registration(MarketDataService, createMarketDataService(market));
  }

  it("refuses two rules that bind one method and path", async () => {
    const once = marketData();
    app = Fastify();
    app.register(restPlugin, { services: { registrations: [once, once], interceptors: [] } });
    await assert.rejects(async () => app!.ready(), /GET \/v1\/snapshots\/\{symbol_id\} is bound to both/);
  });

  it("refuses a deadline longer than maxTimeoutMs and a body larger than maxBodyBytes", async () => {
    app = Fastify();
    await app.register(restPlugin, {
      services: { registrations: [marketData()], interceptors: [] },
      maxTimeoutMs: 1000,
      maxBodyBytes: 64,
    });
    await market!.ingest([{ symbolId: 13, symbol: "NIFTY 50", ltp: 1 }]);

    const ok = await app.inject({ url: "/v1/snapshots/13", headers: { "connect-timeout-ms": "1000" } });
    assert.equal(ok.statusCode, 200);
    const long = await app.inject({ url: "/v1/snapshots/13", headers: { "connect-timeout-ms": "1001" } });
    assert.equal(long.statusCode, 400);
    assert.match(long.json().message, /1001ms must be <= 1000/);

    const small = await app.inject({ method: "POST", url: "/v1/snapshots:batchGet", payload: { symbolIds: [13] } });
    assert.equal(small.statusCode, 200);
    const big = await app.inject({ method: "POST", url: "/v1/snapshots:batchGet", payload: { symbolIds: Array(40).fill(13) } });
    assert.equal(big.statusCode, 413);
    assert.deepEqual(big.json(), { code: "resource_exhausted", message: "request body is larger than 64 bytes", details: [] });
  });

  it("serves the OpenAPI document and docs page at the paths given", async () => {
    app = Fastify();
    await app.register(restPlugin, {
      services: { registrations: [marketData()], interceptors: [] },
      openApiPath: "/api/openapi.json",
      docsPath: "/api/docs",
    });
    const document = await app.inject({ url: "/api/openapi.json" });
    assert.equal(document.statusCode, 200);
    assert.ok(document.json().paths["/v1/snapshots/{symbol_id}"]);
    assert.equal((await app.inject({ url: "/openapi.json" })).statusCode, 404);
    const page = await app.inject({ url: "/api/docs/" });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /\/api\/openapi\.json/);
  });
});
