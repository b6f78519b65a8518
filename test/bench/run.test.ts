import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const runScript = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));

// Runs the real bench with tiny settings: it proves the suite still runs and
// writes well-formed results. It asserts no speed: the figures of a second
// of load on a shared machine mean nothing.
describe("npm run bench (tiny settings)", () => {
  let outDir: string;
  let results: Record<string, any>;
  let report: string;
  let chart: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), "bench-smoke-"));
    await promisify(execFile)(process.execPath, ["--import", "tsx", runScript, "unary", "--duration", "1", "--warmup", "0", "--out", outDir], {
      timeout: 120_000,
    });
    results = JSON.parse(await readFile(join(outDir, "latest.json"), "utf8"));
    report = await readFile(join(outDir, "report.md"), "utf8");
    chart = await readFile(join(outDir, "chart.svg"), "utf8");
  });

  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it("records the machine and the Node version with the results", () => {
    assert.equal(results.machine.node, process.version);
    assert.ok(results.machine.cores >= 1);
    assert.ok(!Number.isNaN(Date.parse(results.machine.date)));
  });

  it("measures every gRPC peer with h2load, loaded and one in flight, without failed calls", () => {
    assert.deepEqual(
      results.unary.peers.map((p: { peer: string }) => p.peer),
      ["gateway", "grpc-js", "http2-ceiling"],
    );
    for (const peer of results.unary.peers) {
      for (const run of [peer.loaded, peer.single]) {
        assert.equal(run.tool, "h2load");
        assert.ok(run.succeeded > 0, `${peer.peer} answered no call`);
        assert.equal(run.failed, 0);
        assert.ok(Number.isFinite(run.requestsPerSecond));
        assert.ok(run.latency.p50Ms <= run.latency.p99Ms);
      }
    }
    assert.ok(Number.isFinite(results.unary.ratios["gateway/grpc-js"]));
  });

  it("writes a markdown report with the table and an SVG chart", () => {
    assert.match(report, /## gRPC unary/);
    assert.match(report, /\| gateway \(connect-fastify, one port\) \| [\d,]+ \|/);
    assert.match(chart, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(chart, /<rect x="\d+" y="\d+" width="\d+"/);
  });
});
