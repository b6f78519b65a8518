import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";

const DASHBOARD = "https://dashboard.example.com";
const RPC = "/stockify.v1.MarketDataService/GetSnapshot";

describe("CORS", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ CORS_ORIGINS: `${DASHBOARD}, https://ops.example.com` });
  });
  after(() => gateway.close());

  it("answers a Connect preflight from an allowed origin with the protocol's methods and headers", async () => {
    const response = await fetch(`${gateway.baseUrl}${RPC}`, {
      method: "OPTIONS",
      headers: {
        origin: DASHBOARD,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,connect-timeout-ms,authorization",
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get("access-control-allow-origin"), DASHBOARD);
    assert.match(response.headers.get("access-control-allow-methods") ?? "", /POST/);
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const header of ["content-type", "connect-protocol-version", "connect-timeout-ms", "x-grpc-web", "authorization"]) {
      assert.ok(allowed.includes(header), `${header} allowed`);
    }
  });

  it("exposes grpc-status and grpc-message on a gRPC-Web answer to an allowed origin", async () => {
    // One gRPC-Web frame holding GetSnapshotRequest{symbol_id: 13}.
    const body = Buffer.from([0, 0, 0, 0, 2, 0x08, 13]);
    const response = await fetch(`${gateway.baseUrl}${RPC}`, {
      method: "POST",
      headers: { origin: DASHBOARD, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body,
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), DASHBOARD);
    const exposed = (response.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
    for (const header of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) assert.ok(exposed.includes(header), `${header} exposed`);
    assert.ok((await response.arrayBuffer()).byteLength > 0);
  });

  it("gives no CORS grant to another origin", async () => {
    const response = await fetch(`${gateway.baseUrl}${RPC}`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.net", "access-control-request-method": "POST" },
    });
    assert.equal(response.headers.get("access-control-allow-origin"), null);
  });

  it("is off unless CORS_ORIGINS is set", async () => {
    const plain = await startGateway();
    try {
      const response = await fetch(`${plain.baseUrl}/v1/symbols`, { headers: { origin: DASHBOARD } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("access-control-allow-origin"), null);
    } finally {
      await plain.close();
    }
  });
});
