import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { expectCode } from "../support/expect-code.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";

/** Waits for the exit without sending a signal of its own, as stop() would. */
async function exitCode(gateway: GatewayProcess): Promise<number | null> {
  if (gateway.child.exitCode === null) await once(gateway.child, "exit");
  return gateway.child.exitCode;
}

async function readyStatus(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/readyz`)).status;
}

async function waitUntilNotReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await readyStatus(baseUrl)) !== 503) {
    if (Date.now() > deadline) throw new Error("/readyz still answers 200");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("shutting down on a signal", () => {
  const started: GatewayProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const gateway = await startGatewayProcess({ SIMULATOR_SYMBOLS: "0", ...env });
    started.push(gateway);
    return gateway;
  };
  after(() => {
    for (const gateway of started) if (gateway.child.exitCode === null) gateway.child.kill("SIGKILL");
  });

  it("on SIGTERM says NOT_SERVING at once, yet answers new calls and keeps streams open until the drain delay has passed", async () => {
    const gateway = await start({ SHUTDOWN_DRAIN_DELAY_MS: "1500" });
    const stream = createClient(MarketDataService, createGrpcTransport({ baseUrl: gateway.baseUrl }))
      .subscribeSnapshots({ symbolIds: [13] })
      [Symbol.asyncIterator]();
    assert.equal((await stream.next()).done, false);
    const streamEnd = expectCode(
      (async () => {
        for (;;) if ((await stream.next()).done === true) return;
      })(),
      Code.Unavailable,
    );
    let streamEndedAt = 0;
    void streamEnd.then(
      () => (streamEndedAt = Date.now()),
      () => undefined,
    );

    const signalledAt = Date.now();
    gateway.child.kill("SIGTERM");
    await waitUntilNotReady(gateway.baseUrl);
    // A new connection, as a balancer that has not yet seen the status opens.
    const transport = createConnectTransport({ baseUrl: gateway.baseUrl, httpVersion: "1.1" });
    const { status } = await createClient(Health, transport).check({ service: "" });
    assert.equal(status, HealthCheckResponse_ServingStatus.NOT_SERVING);
    const { snapshot } = await createClient(MarketDataService, transport).getSnapshot({ symbolId: 13 });
    assert.equal(snapshot?.symbolId, 13);
    assert.equal((await fetch(`${gateway.baseUrl}/v1/snapshots/13`)).status, 200);
    assert.equal(streamEndedAt, 0, "the stream is still open during the delay");

    assert.match((await streamEnd).message, /shutting down/);
    assert.ok(streamEndedAt - signalledAt >= 1400, `the stream ended ${streamEndedAt - signalledAt} ms after SIGTERM`);
    assert.equal(await exitCode(gateway), 0);
    assert.match(gateway.output(), /still answering calls until balancers have seen it/);
  });

  it("cuts the drain delay short when a second signal comes", async () => {
    const gateway = await start({ SHUTDOWN_DRAIN_DELAY_MS: "60000" });
    gateway.child.kill("SIGTERM");
    await waitUntilNotReady(gateway.baseUrl);
    const signalledAt = Date.now();
    gateway.child.kill("SIGINT");
    assert.equal(await exitCode(gateway), 0);
    assert.ok(Date.now() - signalledAt < 5000, `exited ${Date.now() - signalledAt} ms after SIGINT`);
    assert.match(gateway.output(), /drain delay cut short/);
  });
});
