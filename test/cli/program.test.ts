import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

const BIN = "bin/stockify.js";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `stockify` executable, as a user's shell would. */
function stockify(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

describe("stockify command", () => {
  let gateway: TestGateway;
  let secured: TestGateway;
  before(async () => {
    gateway = await startGateway();
    secured = await startGateway({ AUTH_TOKENS: "reader-token:read" });
  });
  after(async () => {
    await gateway.close();
    await secured.close();
  });
  const url = () => ["--url", gateway.baseUrl];

  it("get prints a table, or proto3 JSON with --json", async () => {
    const table = await stockify([...url(), "get", "13"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /NIFTY 50 .* 13 .* 24,350\.00/);
    const json = await stockify([...url(), "--json", "get", "13"]);
    const snapshot = JSON.parse(json.stdout);
    assert.equal(snapshot.ltp, 24350);
    assert.equal(snapshot.volume, "100");
  });

  it("batch prints every known symbol and names the unknown ones, exiting 1", async () => {
    const result = await stockify([...url(), "--json", "batch", "13", "25", "999"]);
    assert.equal(result.code, 1);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((s) => s.symbolId),
      [13, 25],
    );
    assert.match(result.stderr, /unknown symbols: 999/);
  });

  it("watch streams live updates until its limit", async () => {
    const child = spawn(process.execPath, [BIN, ...url(), "--json", "watch", "13", "25", "--limit", "3"], {
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor(() => stdout.trim().split("\n").length >= 2, 20_000, "the current snapshots");
    await gateway.app.market.ingest([{ symbolId: 25, ltp: 52222.5 }]);
    assert.equal(await exited, 0);
    const lines = stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[2], { ...lines[2], symbolId: 25, ltp: 52222.5 });
  });

  it("watch draws a live table", async () => {
    const result = await stockify([...url(), "watch", "13", "25", "27", "--limit", "3"]);
    assert.equal(result.code, 0, result.stderr);
    for (const name of ["NIFTY 50", "BANK NIFTY", "FIN NIFTY"]) assert.ok(result.stdout.includes(name), name);
    assert.match(result.stdout, /3\/3 symbols/);
  });

  it("health reports SERVING", async () => {
    const result = await stockify([...url(), "health"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "gateway: SERVING\n");
  });

  it("fails with the gRPC code and exit status 1", async () => {
    const unknown = await stockify([...url(), "get", "9999"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\[not_found\] unknown symbol: 9999/);
    const closed = await startGateway();
    await closed.close();
    const unreachable = await stockify(["--url", closed.baseUrl, "--timeout", "2000", "watch", "13"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /\[unavailable\]/);
  });

  it("sends --token, or STOCKIFY_TOKEN, as a bearer token", async () => {
    const refused = await stockify(["--url", secured.baseUrl, "get", "13"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unauthenticated/);
    const flag = await stockify(["--url", secured.baseUrl, "--token", "reader-token", "--json", "get", "13"]);
    assert.equal(flag.code, 0, flag.stderr);
    const env = await stockify(["--json", "get", "25"], { STOCKIFY_URL: secured.baseUrl, STOCKIFY_TOKEN: "reader-token" });
    assert.equal(JSON.parse(env.stdout).symbol, "BANK NIFTY");
  });
});
