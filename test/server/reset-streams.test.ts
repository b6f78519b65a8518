import { create, toBinary } from "@bufbuild/protobuf";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { SubscribeSnapshotsRequestSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { GRPC_LANES } from "../support/grpc-lanes.js";
import { scrapeMetrics } from "../support/prometheus.js";
import { frame } from "../support/raw-grpc.js";

const SUBSCRIBE = "/stockify.v1.MarketDataService/SubscribeSnapshots";
const METHOD = "stockify.v1.MarketDataService/SubscribeSnapshots";
const PROTOCOLS: { name: string; protocol: string; headers: http2.OutgoingHttpHeaders }[] = [
  { name: "Connect", protocol: "connect", headers: { "content-type": "application/connect+proto" } },
  { name: "gRPC-Web", protocol: "grpc-web", headers: { "content-type": "application/grpc-web+proto" } },
  { name: "gRPC", protocol: "grpc", headers: { "content-type": "application/grpc", te: "trailers" } },
];

/**
 * subscribeThenVanish opens a stream on a connection of its own, waits for
 * its first update, and destroys the connection under it, as a closed
 * browser tab or a killed process does.
 */
async function subscribeThenVanish(baseUrl: string, headers: http2.OutgoingHttpHeaders): Promise<void> {
  const { port } = new URL(baseUrl);
  const socket = net.connect(Number(port), "127.0.0.1");
  const session = http2.connect(baseUrl, { createConnection: () => socket });
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": SUBSCRIBE, ...headers });
  stream.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    stream.once("data", () => resolve());
    stream.once("close", () => reject(new Error("the stream closed before its first update")));
    stream.end(frame(toBinary(SubscribeSnapshotsRequestSchema, create(SubscribeSnapshotsRequestSchema, { symbolIds: [13] }))));
  });
  // A TCP reset, as the kernel sends for a killed process with data unread.
  socket.resetAndDestroy();
}

const STATUSES = ["OK", "CANCELLED", "UNKNOWN", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"];

/** countedOnce waits until the protocol's stream has been counted, and returns the metrics then. */
async function countedOnce(baseUrl: string, protocol: string): Promise<Awaited<ReturnType<typeof scrapeMetrics>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const metric = await scrapeMetrics(baseUrl);
    if ((metric("grpc_requests_total", { method: METHOD, protocol }) ?? 0) > 0 || Date.now() > deadline) return metric;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const lane of GRPC_LANES) {
  describe(`streams whose connection is reset, ${lane.name}`, () => {
    let gateway: GatewayProcess;
    before(async () => {
      gateway = await startGatewayProcess({ ...lane.env, SIMULATOR: "on", SIMULATOR_SYMBOLS: "0", SIMULATOR_TICKS_PER_SECOND: "200" });
    });
    after(() => gateway.stop());

    for (const { name, protocol, headers } of PROTOCOLS) {
      it(`counts a ${name} stream whose client vanished as CANCELLED, and logs no error`, async () => {
        await subscribeThenVanish(gateway.baseUrl, headers);
        const metric = await countedOnce(gateway.baseUrl, protocol);
        const counted = STATUSES.filter((status) => (metric("grpc_requests_total", { method: METHOD, protocol, status }) ?? 0) > 0);
        assert.deepEqual(counted, ["CANCELLED"]);
        assert.equal(metric("grpc_requests_total", { method: METHOD, protocol, status: "CANCELLED" }), 1);
        assert.equal(metric("grpc_active_streams", { method: METHOD, protocol }) ?? 0, 0);
        const errors = gateway
          .output()
          .split("\n")
          .filter((line) => /"level":50/.test(line) || line.includes("call failed") || line.includes("failed"));
        assert.deepEqual(errors, []);
      });
    }
  });
}
