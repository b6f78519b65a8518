import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const runScript = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));
// One round: the rounds' interleaving and scoring have tests of their own
// (rounds.test.ts); here a second round would only double the loaded runs.
const ROUNDS = 1;
const TINY = [
  "--duration", "1", "--warmup", "0", "--rounds", String(ROUNDS), "--iterations", "20", "--updates", "5",
  "--subscribers", "3", "--idle-streams", "30", "--client-processes", "2",
  "--feed-streams", "6", "--feed-light-streams", "2", "--feed-symbols", "4", "--feed-ticks", "200",
  "--feed-light-ticks", "100", "--feed-single-ticks", "400", "--feed-streams-per-connection", "3",
  "--reliability-streams", "3", "--reliability-bomb-mib", "1", "--reliability-freeze", "1",
  "--reliability-healthy", "3", "--reliability-stuck", "3", "--reliability-ticks", "200",
];

function assertLatency(latency: Record<string, number>, what: string) {
  assert.ok(latency.count > 0, `${what}: no samples`);
  assert.ok(Number.isFinite(latency.p50Ms) && latency.p50Ms <= latency.p99Ms, `${what}: p50 ${latency.p50Ms}, p99 ${latency.p99Ms}`);
}

// Runs the real bench with tiny settings: it proves every suite still runs
// and writes well-formed results. It asserts no speed: the figures of a
// second of load on a shared machine mean nothing.
describe("npm run bench (tiny settings)", () => {
  let outDir: string;
  let results: Record<string, any>;
  let report: string;
  let chart: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), "bench-smoke-"));
    await promisify(execFile)(process.execPath, ["--import", "tsx", runScript, ...TINY, "--out", outDir], { timeout: 400_000 });
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
    assert.deepEqual(results.settings.suites, ["unary", "rest", "seed", "streaming", "reliability"]);
    assert.deepEqual(Object.keys(results.suiteSeconds), ["unary", "rest", "seed", "streaming", "reliability"]);
  });

  it("measures every gRPC peer with h2load, loaded and one in flight, without failed calls", () => {
    assert.deepEqual(
      results.unary.peers.map((p: { peer: string }) => p.peer),
      ["gateway", "gateway-connect", "grpc-js", "http2-ceiling"],
    );
    for (const peer of results.unary.peers) {
      for (const run of [peer.loaded, peer.single]) {
        assert.equal(run.tool, "h2load");
        assert.ok(run.succeeded > 0, `${peer.peer} answered no call`);
        assert.equal(run.failed, 0);
        assert.ok(Number.isFinite(run.requestsPerSecond));
        assertLatency(run.latency, peer.peer);
      }
      // Linux's /proc gives every peer's CPU time (in 10 ms steps, so a
      // short, starved run may read zero).
      assert.ok(Number.isFinite(peer.cpuUsPerCall) && peer.cpuUsPerCall >= 0, `${peer.peer} has no CPU time per call`);
      // A loaded run per round, grpc-js between every two others; the run kept is one of them.
      assert.equal(peer.rounds.length, peer.peer === "grpc-js" ? ROUNDS * results.unary.peers.length : ROUNDS);
      assert.ok(peer.rounds.includes(peer.loaded.requestsPerSecond), `${peer.peer}: ${peer.loaded.requestsPerSecond} is not a round's`);
      assert.ok(peer.allocations.bytesPerCall > 0, `${peer.peer}: no heap allocations sampled`);
    }
    assert.ok(Number.isFinite(results.unary.ratios["gateway/grpc-js"]));
    const [low, high] = results.unary.spread["gateway/grpc-js"];
    assert.ok(low <= results.unary.ratios["gateway/grpc-js"] && results.unary.ratios["gateway/grpc-js"] <= high, `${low}, ${high}`);
    assert.ok(Number.isFinite(results.unary.ratios["calls per CPU-second, gateway/grpc-js"]));
  });

  it("measures JSON over HTTP/1.1 and Connect's unary calls on the gateway, both of its Connect paths, and a plain Fastify route", () => {
    const targets = results.rest.targets.map((t: { target: string }) => t.target);
    for (const kind of ["json", "proto", "get", "json-h2", "grpc-web"]) {
      assert.ok(targets.includes(`gateway-connect-${kind}`), `gateway-connect-${kind}`);
      assert.ok(targets.includes(`connect-handler-${kind}`), `connect-handler-${kind}`);
      assert.ok(Number.isFinite(results.rest.ratios[`gateway-connect-${kind}/connect-handler-${kind}`]));
    }
    assert.ok(targets.includes("fastify"));
    assert.ok(targets.includes("fastify-h2"), "the plain Fastify route over HTTP/2");
    assert.ok(Number.isFinite(results.rest.ratios["gateway-connect-json-h2/fastify-h2"]));
    assert.equal(targets.includes("gateway-rest"), results.rest.gatewayRest);
    // The REST route measured on the lane and, lanes off, on the Fastify route.
    assert.equal(targets.includes("connect-handler-rest"), results.rest.gatewayRest);
    if (results.rest.gatewayRest) assert.ok(Number.isFinite(results.rest.ratios["gateway-rest/connect-handler-rest"]));
    for (const target of results.rest.targets) {
      assert.equal(target.loaded.tool, target.target.endsWith("-h2") ? "h2load" : "wrk");
      assert.ok(target.loaded.succeeded > 0 && target.single.succeeded > 0, `${target.target} answered no call`);
      assert.equal(target.loaded.failed + target.single.failed, 0);
      assert.ok(target.allocations.bytesPerCall > 0, `${target.target}: no heap allocations sampled`);
      assert.equal(target.rounds.length, target.target === "fastify" ? ROUNDS * results.rest.targets.length : ROUNDS);
      assert.ok(target.cpuUsPerCall >= 0, `${target.target} has no CPU time per call`);
      assert.ok(target.rounds.includes(target.loaded.requestsPerSecond), `${target.target}: ${target.loaded.requestsPerSecond} is not a round's`);
    }
    assert.equal(results.rest.spread["gateway-connect-json/fastify"].length, 2);
  });

  it("measures every row of the migration guide's table", () => {
    const seed = results.seed;
    assertLatency(seed.getSnapshot.grpc, "gRPC GetSnapshot");
    assertLatency(seed.getSnapshot.connectJson, "Connect JSON GetSnapshot");
    for (const key of ["grpcOneCall", "connectJsonOneCall", "restSequential", "restConcurrent"]) assertLatency(seed.batch[key], key);
    assert.equal(seed.streaming.push.count, 5);
    assert.equal(seed.streaming.poll.count, 5);
    for (const response of ["snapshot", "batch100"]) {
      for (const encoding of ["json", "protobuf"]) {
        const sizes = seed.payload[response][encoding];
        assert.ok(sizes.bytes > 0 && sizes.gzipBytes > 0, `${response} ${encoding}`);
      }
    }
  });

  it("measures streams on both peers: throughput, paced latency, a real client and idle memory", () => {
    const s = results.streaming;
    for (const peer of ["gateway", "grpc-js"]) {
      assert.deepEqual(
        s.throughput.filter((r: { peer: string }) => r.peer === peer).map((r: { subscribers: number }) => r.subscribers),
        [3],
      );
      const runs = [...s.throughput, ...s.paced, ...s.realClient].filter((r: { peer: string }) => r.peer === peer);
      assert.equal(runs.length, 3);
      for (const run of runs) {
        assert.ok(run.deliveredPerSecond > 0, `${peer} ${run.client} delivered nothing`);
        assert.equal(run.endedStreams, 0);
        assert.ok(Number.isFinite(run.serverCores) && run.serverCores >= 0, "no server CPU time measured");
        assertLatency(run.latency, `${peer} ${run.client} ${run.subscribers}`);
      }
      const memory = s.idleMemory.find((m: { peer: string }) => m.peer === peer);
      assert.equal(memory.streams, 30);
      assert.ok(Number.isFinite(memory.rssBytesPerStream) && Number.isFinite(memory.heapBytesPerStream));
    }
  });

  it("runs every row of the external feed on both peers: producer, subscribers, stalled stream and server figures", () => {
    const feed = results.streaming.externalFeed;
    assert.deepEqual(feed.rows.map((r: { id: string }) => r.id), ["a", "b", "c", "d", "e"]);
    for (const row of feed.rows) {
      for (const peer of ["gateway", "grpc-js"]) {
        const run = feed.runs.find((r: { row: string; peer: string }) => r.row === row.id && r.peer === peer);
        assert.ok(run !== undefined, `row ${row.id} has no ${peer} run`);
        assert.equal(run.error, undefined, `row ${row.id}, ${peer}: ${run.error}`);
        assert.equal(run.streams, row.streams);
        assert.ok(run.sentTicksPerSecond > 0, `row ${row.id}, ${peer}: the producer sent nothing`);
        assert.ok(run.deliveredPerSecond > 0, `row ${row.id}, ${peer} delivered nothing`);
        assert.equal(run.endedStreams, 0);
        assert.equal(run.outOfOrder, 0);
        assert.equal(run.publish.failed, 0);
        assertLatency(run.latency, `row ${row.id}, ${peer}`);
        assertLatency(run.publish.latency, `row ${row.id}, ${peer} PublishTicks`);
        assert.ok(Number.isFinite(run.serverCores) && run.serverCores >= 0, "no server CPU time measured");
        assert.ok(run.rssBytes.start > 0 && run.rssBytes.end > 0, "no server RSS measured");
        assert.equal(run.clientCores.length, run.clientProcesses);
      }
    }
    // The stalled stream holds at most its small window and the client's read buffer.
    const stalled = feed.runs.filter((r: { row: string }) => r.row === "c");
    for (const run of stalled) assert.ok(run.stalledBytesBuffered < 64 * 1024, `${run.peer}: ${run.stalledBytesBuffered} bytes unread`);
    assert.ok(Number.isFinite(feed.ratios["gateway/grpc-js, row a"]));
  });

  it("drops streams abruptly, sends gzip bombs, freezes the store and stalls subscribers, and reads the gateway's gauges", () => {
    const r = results.reliability;
    for (const run of r.resets) {
      assert.equal(run.sseStreams, 3);
      assert.equal(run.grpcStreams, 3);
      assert.equal(run.open.stockify_hub_subscriptions, 6, `${run.how}: ${JSON.stringify(run.open)}`);
      assert.ok(run.after.stockify_hub_subscriptions !== undefined, `${run.how}: no gauges read after the reset`);
    }
    assertLatency(r.bomb.alone, "GetSnapshot alone");
    assertLatency(r.bomb.underBombs, "GetSnapshot under bombs");
    assert.ok(Object.values(r.bomb.statuses).reduce((a: number, n) => a + Number(n), 0) >= 4, "fewer than four bombs sent");
    assert.equal(r.bomb.statuses["0"], undefined, `a bomb was accepted: ${JSON.stringify(r.bomb.statuses)}`);
    assert.ok(r.frozenStore.readyForMs >= 0 && r.frozenStore.firstCallMs >= 0);
    assertLatency(r.stuck.alone.latency, "healthy subscribers alone");
    assertLatency(r.stuck.withStuck.latency, "healthy subscribers beside stuck ones");
    assertLatency(r.stuck.afterStuck.latency, "healthy subscribers alone again");
    assert.ok(Number.isFinite(r.stuck.p99Ratio) && r.stuck.p99Ratio > 0, `p99 ratio ${r.stuck.p99Ratio}`);
  });

  it("writes a markdown report with every section and an SVG chart", () => {
    assert.match(report, /The run took \d+ s \(unary \d+ s, rest \d+ s, seed \d+ s, streaming \d+ s, reliability \d+ s\)\./);
    for (const heading of [
      "## The migration guide's table, measured",
      "## gRPC unary",
      "## JSON over HTTP/1.1",
      "## Fan-out from an external feed: the deployment users run",
      "## Server streaming",
      "## Reliability: resets, gzip bombs, a frozen store, stuck subscribers",
    ]) {
      assert.ok(report.includes(heading), `no "${heading}" in the report`);
    }
    assert.match(report, /\| Get Snapshot \| [\d.]+ ms \(guide: 10ms\) \|/);
    assert.match(report, /\| gateway \(lean gRPC lane, one port\) \| [\d,]+ \|/);
    assert.match(report, /\| \(a\) 6 streams × 4 symbols, 200 ticks\/s \| [\d,]+ of [\d,]+ msg\/s delivered, p50 [\d.]+ ms/);
    assert.match(report, /\| row a, gateway vs grpc-js \| \*\*[\d.]+×\*\* delivered msg\/s \|/);
    // Each per-request ratio beside its target.
    assert.match(report, /\| req\/s, gateway \/ grpc-js \| [\d.]+× \| [\d.]+–[\d.]+× \| ≥ 1\.25× \| (met|missed) \|/);
    assert.match(report, /\| REST GET \/ plain Fastify \| [\d.]+× \| [\d.]+–[\d.]+× \| ≥ 0\.80× \| (met|missed) \|/);
    assert.match(report, /\| gRPC-Web binary \(HTTP\/1\.1\) \/ plain Fastify \| [\d.]+× \| [\d.]+–[\d.]+× \| ≥ 0\.60× \| (met|missed) \|/);
    assert.match(report, /measure their loaded runs in 1 round:/);
    assert.match(report, /Healthy p99 beside the stuck subscribers over the mean of the two runs alone: [\d.]+× \(target under 1\.1×: (met|missed)\)/);
    assert.match(chart, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const feedRowA = results.streaming.externalFeed.runs.filter((r: { row: string }) => r.row === "a").length;
    const bars =
      results.unary.peers.length + results.rest.targets.length + 6 + feedRowA + results.streaming.throughput.length + results.streaming.idleMemory.length;
    assert.equal(chart.match(/<rect x=/g)?.length, bars);
  });
});
