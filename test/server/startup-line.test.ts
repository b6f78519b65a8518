import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startGatewayProcess } from "../support/gateway-process.js";
import { waitFor } from "../support/transports.js";

describe("start-up line", () => {
  it("tells a person where the dashboard, docs, metrics and health probes are", async () => {
    const gateway = await startGatewayProcess({ SIMULATOR: "off", SHUTDOWN_DRAIN_DELAY_MS: "0" });
    try {
      const base = gateway.baseUrl;
      // Fastify says it listens, then runs the onListen hooks.
      await waitFor(() => gateway.output().includes("Stockify Gateway is up"), 5000, "the start-up line");
      const line = gateway
        .output()
        .split("\n")
        .find((text) => text.includes("Stockify Gateway is up"));
      assert.ok(line, `no start-up line in:\n${gateway.output()}`);
      const { msg } = JSON.parse(line) as { msg: string };
      assert.equal(msg, `Stockify Gateway is up: dashboard ${base}/, API reference ${base}/docs, metrics ${base}/metrics, health ${base}/healthz and ${base}/readyz`);
      // Each place it names answers.
      for (const path of ["/", "/docs", "/metrics", "/healthz", "/readyz"]) {
        const response = await fetch(`${base}${path}`, { redirect: "manual" });
        assert.ok(response.status < 400, `${path} answered ${response.status}`);
      }
    } finally {
      await gateway.stop();
    }
  });
});
