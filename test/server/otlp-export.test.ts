import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { waitFor } from "../support/transports.js";

/** OTLP's SPAN_KIND_SERVER. */
const SPAN_KIND_SERVER = 2;

describe("OTLP export (a gateway process with OTEL_EXPORTER_OTLP_ENDPOINT set)", () => {
  let receiver: OtlpReceiver;
  let gateway: GatewayProcess | undefined;
  before(async () => {
    receiver = await startOtlpReceiver();
    gateway = await startGatewayProcess({
      SIMULATOR: "on",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "gateway-under-test",
    });
  });
  after(async () => {
    await gateway?.stop();
    await receiver?.close();
  });

  it("sends each call's span, child of the caller's, to the collector", async () => {
    assert.ok(gateway, "the gateway did not start");
    const traceId = randomBytes(16).toString("hex");
    const callerSpans = [randomBytes(8).toString("hex"), randomBytes(8).toString("hex")];
    const transports = [createGrpcTransport({ baseUrl: gateway.baseUrl }), createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "1.1" })];
    for (const [index, transport] of transports.entries()) {
      const client = createClient(MarketDataService, transport);
      await client.getSnapshot({ symbolId: 13 }, { headers: { traceparent: `00-${traceId}-${callerSpans[index]}-01`, tracestate: "desk=fx" } });
    }
    // SIGTERM flushes what the batch processor still holds.
    assert.equal(await gateway.stop(), 0);
    await waitFor(() => receiver.spans.filter((span) => span.traceId === traceId).length === 2, 5000, "two exported spans");
    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    for (const [index, system] of ["grpc", "connect_rpc"].entries()) {
      const span = spans.find((candidate) => candidate.parentSpanId === callerSpans[index]);
      assert.ok(span, `no span for the ${system} call`);
      assert.equal(span.name, "stockify.v1.MarketDataService/GetSnapshot");
      assert.equal(span.kind, SPAN_KIND_SERVER);
      assert.equal(span.traceState, "desk=fx");
      assert.equal(span.serviceName, "gateway-under-test");
      assert.deepEqual(span.attributes, {
        "rpc.system": system,
        "rpc.service": "stockify.v1.MarketDataService",
        "rpc.method": "GetSnapshot",
        "rpc.grpc.status_code": 0,
      });
    }
  });
});
