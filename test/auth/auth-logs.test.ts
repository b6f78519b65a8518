import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { TokenRegistry, parseTokenGrants } from "../../src/auth/tokens.js";
import { expectCode } from "../support/expect-code.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { waitFor } from "../support/transports.js";

const GOOD = "log-test-good-4d1f0e";
const BAD = "log-test-guess-9a7c2b";

for (const lane of GRPC_LANES) describe(`the gateway's log with auth on (${lane.name})`, () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await startGatewayProcess({ ...lane.env, AUTH_TOKENS: `${GOOD}:read`, SIMULATOR: "on", SIMULATOR_SYMBOLS: "0" });
  });
  after(() => gateway.stop());

  it("names callers by token fingerprint and never writes a token", async () => {
    const client = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    await client.listSymbols({}, { headers: { authorization: `Bearer ${GOOD}` } });
    await expectCode(client.listSymbols({}, { headers: { authorization: `Bearer ${BAD}` } }), Code.Unauthenticated);
    const fingerprint = new TokenRegistry(parseTokenGrants(`${GOOD}:read`)).authenticate(GOOD)!.fingerprint;
    await waitFor(() => gateway.output().includes(`"token":"${fingerprint}"`), 10_000, "the call line with the fingerprint");
    await waitFor(() => gateway.output().includes('"code":"UNAUTHENTICATED"'), 10_000, "the refused call's line");
    assert.ok(gateway.output().includes("bearer-token auth on"));
    assert.ok(!gateway.output().includes(GOOD), "a configured token was logged");
    assert.ok(!gateway.output().includes(BAD), "a presented token was logged");
  });
});

describe("the gateway's log with auth off", () => {
  it("warns that auth is off", async () => {
    const gateway = await startGatewayProcess({ SIMULATOR: "off" });
    try {
      assert.match(gateway.output(), /"level":40,[^\n]*AUTH IS OFF/);
    } finally {
      await gateway.stop();
    }
  });
});
