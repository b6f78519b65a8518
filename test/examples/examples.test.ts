import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startGateway, type TestGateway } from "../support/gateway.js";

const run = promisify(execFile);

describe("examples", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ SIMULATOR: "on", SIMULATOR_SYMBOLS: "10", SIMULATOR_TICKS_PER_SECOND: "400" });
  });
  after(() => gateway.close());

  async function example(name: string): Promise<string> {
    const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], {
      env: { ...process.env, STOCKIFY_URL: gateway.baseUrl, UPDATES: "6" },
      timeout: 30_000,
    });
    return stdout;
  }

  it("unary prints the snapshot of 13", async () => {
    assert.match(await example("unary"), /NIFTY 50 \(13\) LTP: \d/);
  });

  it("server-streaming prints live updates and exits", async () => {
    const lines = (await example("server-streaming")).trim().split("\n");
    assert.equal(lines.filter((line) => /^Symbol (13|25|27): \d/.test(line)).length, 6);
  });

  it("bidi-streaming subscribes and unsubscribes while streaming", async () => {
    const output = await example("bidi-streaming");
    assert.match(output, /subscribed, now streaming 13, 25, 27/);
    assert.match(output, /unsubscribed 13, now streaming 25, 27/);
  });

  it("health-check reports a serving gateway", async () => {
    assert.match(await example("health-check"), /gateway: SERVING\nstockify.v1.MarketDataService: SERVING/);
  });

  it("batch reads every symbol in one call", async () => {
    assert.match(await example("batch"), /13 snapshots in one call/);
  });
});
