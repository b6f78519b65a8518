import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { SwitchableStore } from "../support/switchable-store.js";

/** Runs the container's HEALTHCHECK command with PORT set. */
function healthcheck(port: number): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/healthcheck.js"], { env: { ...process.env, PORT: String(port) }, timeout: 10_000 }, (error) =>
      resolve(error === null ? 0 : typeof error.code === "number" ? error.code : -1),
    );
  });
}

describe("container HEALTHCHECK (bin/healthcheck.js)", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  it("passes while the gateway answers", async () => {
    assert.equal(await healthcheck(gateway.port), 0);
  });

  it("fails while the gateway is alive but not ready (its store is down), so Docker keeps traffic away", async () => {
    const store = new SwitchableStore();
    const unready = await startGateway({}, { store });
    try {
      store.setHealthy(false);
      // Alive: a liveness probe would call this replica healthy.
      assert.equal((await fetch(`${unready.baseUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${unready.baseUrl}/readyz`)).status, 503);
      assert.equal(await healthcheck(unready.port), 1);
      store.setHealthy(true);
      assert.equal(await healthcheck(unready.port), 0);
    } finally {
      await unready.close();
    }
  });

  it("fails when nothing answers on the port", async () => {
    const gone = await startGateway();
    await gone.close();
    assert.equal(await healthcheck(gone.port), 1);
  });
});
