import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";

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

  it("fails when nothing answers on the port", async () => {
    const gone = await startGateway();
    await gone.close();
    assert.equal(await healthcheck(gone.port), 1);
  });
});
