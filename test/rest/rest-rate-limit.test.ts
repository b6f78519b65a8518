import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

describe("REST rate limit", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ RATE_LIMIT_MAX: "3", RATE_LIMIT_WINDOW_MS: "600000" });
  });
  after(() => gateway.close());

  it("answers 429 RESOURCE_EXHAUSTED with Retry-After past the limit", async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${gateway.baseUrl}/v1/snapshots/13`);
      statuses.push(last.status);
      if (i < 3) await last.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.ok(Number(last!.headers.get("retry-after")) > 0);
    assert.equal(((await last!.json()) as { code: string }).code, "resource_exhausted");
  });

  it("does not count the OpenAPI document nor the reference page", async () => {
    for (let i = 0; i < 5; i++) {
      for (const path of ["/openapi.json", "/docs"]) {
        const response = await fetch(`${gateway.baseUrl}${path}`);
        assert.equal(response.status, 200, path);
        await response.arrayBuffer();
      }
    }
  });

  it("does not count Connect and gRPC calls without a token, nor health probes", async () => {
    const client = createClient(MarketDataService, createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "1.1" }));
    for (let i = 0; i < 5; i++) assert.equal((await client.getSnapshot({ symbolId: 25 })).snapshot?.symbolId, 25);
    assert.equal((await fetch(`${gateway.baseUrl}/healthz`)).status, 200);
  });
});
