import type { MachineInfo } from "../lib/machine.js";
import type { HistoryResults } from "../suites/history.js";
import type { ReliabilityResults } from "../suites/reliability.js";
import type { RestResults } from "../suites/rest.js";
import { SEED_CLAIMS, type SeedResults } from "../suites/seed.js";
import { FEED_TARGETS, type ExternalFeedResults, type FeedRun } from "../suites/external-feed.js";
import type { StreamingResults } from "../suites/streaming.js";
import type { UnaryResults } from "../suites/unary.js";

/**
 * BenchResults is everything one run measured: the file latest.json holds
 * and the report is rendered from.
 */
export interface BenchResults {
  machine: MachineInfo;
  settings: { suites: string[]; quick: boolean; durationS: number; warmupS: number; rounds: number; only: string[] };
  unary?: UnaryResults;
  rest?: RestResults;
  seed?: SeedResults;
  streaming?: StreamingResults;
  reliability?: ReliabilityResults;
  history?: HistoryResults;
  elapsedS?: number;
  /** Seconds each suite took, set-up included. */
  suiteSeconds?: Record<string, number>;
}

/**
 * renderReport renders a run's results as the markdown report.
 */
export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const out: string[] = [
    "# Stockify Gateway benchmark report",
    "",
    `${m.date}: Node ${m.node} (V8 ${m.v8}), ${m.cpuModel} × ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; ` +
      `load average ${m.loadAverage.join(" / ")} at the start; ${m.h2load}; ${m.wrk}; commit ${m.gitCommit}.`,
    "",
    `Loopback only; every server and load generator in its own process; ${results.settings.durationS} s per measurement` +
      ` after ${results.settings.warmupS} s of warm-up${results.settings.quick ? " (quick run)" : ""}.` +
      ` The unary and rest suites measure their loaded runs in ${results.settings.rounds} round${results.settings.rounds === 1 ? "" : "s"}: every target once per round, with the reference (grpc-js, plain Fastify) run between every two targets;` +
      " a target's ratio in a round is over the mean of the reference runs either side of it, and each ratio given is the median of the rounds'." +
      " The machine is shared with other work, so figures move from run to run: compare peers within one run, not across runs.",
    "",
    "![chart](chart.svg)",
    "",
  ];
  if (results.seed !== undefined) out.push(...seedSection(results.seed));
  if (results.unary !== undefined) out.push(...unarySection(results.unary));
  if (results.rest !== undefined) out.push(...restSection(results.rest));
  if (results.streaming !== undefined) out.push(...externalFeedSection(results.streaming.externalFeed), ...streamingSection(results.streaming));
  if (results.reliability !== undefined) out.push(...reliabilitySection(results.reliability));
  if (results.history !== undefined) out.push(...historySection(results.history));
  if (results.elapsedS !== undefined) {
    const suites = Object.entries(results.suiteSeconds ?? {}).map(([suite, seconds]) => `${suite} ${seconds} s`);
    out.push(`The run took ${results.elapsedS} s${suites.length > 0 ? ` (${suites.join(", ")})` : ""}.`, "");
  }
  return out.join("\n");
}

function unarySection(unary: UnaryResults): string[] {
  const lines = [
    `## gRPC unary: \`${unary.method}\` with h2load`,
    "",
    "| Peer | req/s (-c 16 -m 8), median run | each run | p50 ms | p99 ms | server CPU µs/call | req/s (1 in flight) | p50 ms | p99 ms | heap B/call | failed |",
    "|------|-------------------:|-----------:|-------:|-------:|-------------------:|--------------------:|-------:|-------:|------------:|-------:|",
  ];
  for (const p of unary.peers) {
    lines.push(
      `| ${p.label} | ${fmt(p.loaded.requestsPerSecond, 0)} | ${p.rounds.map((r) => fmt(r, 0)).join(", ")} | ${fmt(p.loaded.latency.p50Ms)} | ${fmt(p.loaded.latency.p99Ms)} | ${fmt(p.cpuUsPerCall, 1)} | ` +
        `${fmt(p.single.requestsPerSecond, 0)} | ${fmt(p.single.latency.p50Ms)} | ${fmt(p.single.latency.p99Ms)} | ${fmt(p.allocations.bytesPerCall, 0)} | ${p.loaded.failed + p.single.failed} |`,
    );
  }
  const peer = (name: string) => unary.peers.find((p) => p.peer === name);
  const gateway = peer("gateway");
  const grpcJs = peer("grpc-js");
  lines.push(
    "",
    ...targetsTable([
      ["req/s, gateway / grpc-js", unary.ratios["gateway/grpc-js"], 1.25, unary.spread["gateway/grpc-js"]],
      ["calls per CPU-second, gateway / grpc-js", unary.ratios["calls per CPU-second, gateway/grpc-js"], 1.25, unary.spread["calls per CPU-second, gateway/grpc-js"]],
      ["req/s, gateway / bare node:http2", unary.ratios["gateway/http2-ceiling"], 0.7, unary.spread["gateway/http2-ceiling"]],
      [
        "p99 at -c 16 -m 8, grpc-js / gateway (at least 1: no worse)",
        gateway === undefined || grpcJs === undefined ? Number.NaN : grpcJs.loaded.latency.p99Ms / gateway.loaded.latency.p99Ms,
        1,
      ],
    ]),
    `Ratios: ${ratios(unary.ratios)}. Server CPU per call is the server process's CPU time over the loaded run divided by its calls; ` +
      "calls per CPU-second compare peers as if each had a core to itself, which moves less than req/s on a shared machine. " +
      "Heap bytes per call are V8's sampling heap profiler's estimate of everything allocated (short-lived objects included) over a loaded run of their own (2 s at most), divided by its calls.",
    "",
  );
  return lines;
}

function seedSection(seed: SeedResults): string[] {
  const restName = seed.restRoutes ? "REST" : "Connect JSON";
  const rest = seed.getSnapshot.rest ?? seed.getSnapshot.connectJson;
  const grpc = seed.getSnapshot.grpc;
  const b = seed.batch;
  const s = seed.streaming;
  const p = seed.payload;
  const percent = (part: number, whole: number) => `${Math.round((100 * part) / whole)}%`;
  const claim = (text: string) => ` (guide: ${text})`;
  return [
    "## The migration guide's table, measured",
    "",
    "Medians (p50) measured here; the guide's claims in brackets. " +
      `HTTP REST is ${seed.restRoutes ? "the REST routes" : "Connect JSON (this build has no REST routes)"} over HTTP/1.1 with fetch; gRPC is connect-node's gRPC transport over h2c; one call at a time.`,
    "",
    "| Operation | HTTP REST | gRPC | Improvement |",
    "|-----------|-----------|------|-------------|",
    `| Get Snapshot | ${ms(rest.p50Ms)}${claim(SEED_CLAIMS.getSnapshot.rest)} | ${ms(grpc.p50Ms)}${claim(SEED_CLAIMS.getSnapshot.grpc)} | ${speedup(rest.p50Ms, grpc.p50Ms)}${claim(SEED_CLAIMS.getSnapshot.improvement)} |`,
    `| Batch Get (100) | ${ms(b.restSequential.p50Ms)} for 100 sequential calls${claim(SEED_CLAIMS.batch.rest)} | ${ms(b.grpcOneCall.p50Ms)} in one call${claim(SEED_CLAIMS.batch.grpc)} | ${speedup(b.restSequential.p50Ms, b.grpcOneCall.p50Ms)}${claim(SEED_CLAIMS.batch.improvement)} |`,
    `| Streaming | Polling every ${s.pollIntervalMs} ms: ${ms(s.poll.p50Ms)} to see an update${claim(SEED_CLAIMS.streaming.rest)} | Push: ${ms(s.push.p50Ms)}${claim(SEED_CLAIMS.streaming.grpc)} | ${speedup(s.poll.p50Ms, s.push.p50Ms)}${claim(SEED_CLAIMS.streaming.improvement)} |`,
    `| Payload Size (one snapshot) | 100% (${p.snapshot.json.bytes} B JSON)${claim(SEED_CLAIMS.payload.rest)} | ${percent(p.snapshot.protobuf.bytes, p.snapshot.json.bytes)} (${p.snapshot.protobuf.bytes} B protobuf)${claim(SEED_CLAIMS.payload.grpc)} | ${smaller(p.snapshot.protobuf.bytes, p.snapshot.json.bytes)}${claim(SEED_CLAIMS.payload.improvement)} |`,
    "",
    "Details (milliseconds):",
    "",
    "| Measurement | calls | p50 | p90 | p99 | max |",
    "|-------------|------:|----:|----:|----:|----:|",
    ...(seed.getSnapshot.rest === undefined ? [] : [latencyRow("GetSnapshot, REST JSON", seed.getSnapshot.rest)]),
    latencyRow("GetSnapshot, Connect JSON", seed.getSnapshot.connectJson),
    latencyRow("GetSnapshot, gRPC", grpc),
    latencyRow("100 symbols, one gRPC GetBatchSnapshots", b.grpcOneCall),
    latencyRow("100 symbols, one Connect JSON GetBatchSnapshots", b.connectJsonOneCall),
    latencyRow(`100 symbols, 100 ${restName} calls in sequence`, b.restSequential),
    latencyRow(`100 symbols, 100 ${restName} calls at once`, b.restConcurrent),
    latencyRow("update seen, gRPC push (from the publish call)", s.push),
    latencyRow(`update seen, polling every ${s.pollIntervalMs} ms`, s.poll),
    "",
    "Payload sizes (response bodies as sent; gzip applied here to the same bytes):",
    "",
    "| Response | JSON | JSON gzip | protobuf | protobuf gzip | protobuf / JSON |",
    "|----------|-----:|----------:|---------:|--------------:|----------------:|",
    `| one snapshot | ${p.snapshot.json.bytes} B | ${p.snapshot.json.gzipBytes} B | ${p.snapshot.protobuf.bytes} B | ${p.snapshot.protobuf.gzipBytes} B | ${percent(p.snapshot.protobuf.bytes, p.snapshot.json.bytes)} (gzip: ${percent(p.snapshot.protobuf.gzipBytes, p.snapshot.json.gzipBytes)}) |`,
    `| batch of 100 | ${p.batch100.json.bytes} B | ${p.batch100.json.gzipBytes} B | ${p.batch100.protobuf.bytes} B | ${p.batch100.protobuf.gzipBytes} B | ${percent(p.batch100.protobuf.bytes, p.batch100.json.bytes)} (gzip: ${percent(p.batch100.protobuf.gzipBytes, p.batch100.json.gzipBytes)}) |`,
    "",
  ];
}

function restSection(rest: RestResults): string[] {
  const lines = [
    "## JSON over HTTP/1.1 with wrk, and unary Connect calls",
    "",
    rest.gatewayRest ? "The gateway's REST route and its Connect JSON path against a plain Fastify route." : "This build of the gateway has no REST routes: its Connect JSON path stands in, against a plain Fastify route.",
    "REST GETs and Connect's unary calls (JSON and binary, POST and GET) and gRPC-Web's on the gateway's lean lanes and, with `CONNECT_LANE=off GRPC_WEB_LANE=off REST_LANE=off` (lanes off), on the Fastify route and Connect's handler; the HTTP/2 rows by h2load with one call in flight per connection, as wrk has.",
    "Heap bytes per call are V8's sampling heap profiler's estimate of everything allocated (short-lived objects included) over a run of their own at -c 16 (2 s at most), divided by its calls.",
    "",
    "| Target | request | req/s (-c 16), median run | each run | p50 ms | p99 ms | server CPU µs/call | req/s (-c 1) | p50 ms | p99 ms | heap B/call | failed |",
    "|--------|---------|--------------:|-----------:|-------:|-------:|-------------------:|-------------:|-------:|-------:|------------:|-------:|",
  ];
  for (const t of rest.targets) {
    lines.push(
      `| ${t.label} | \`${t.request}\` | ${fmt(t.loaded.requestsPerSecond, 0)} | ${t.rounds.map((r) => fmt(r, 0)).join(", ")} | ${fmt(t.loaded.latency.p50Ms)} | ${fmt(t.loaded.latency.p99Ms)} | ${fmt(t.cpuUsPerCall, 1)} | ` +
        `${fmt(t.single.requestsPerSecond, 0)} | ${fmt(t.single.latency.p50Ms)} | ${fmt(t.single.latency.p99Ms)} | ` +
        `${fmt(t.allocations.bytesPerCall, 0)} | ${t.loaded.failed + t.single.failed} |`,
    );
  }
  lines.push(
    "",
    ...targetsTable([
      ["REST GET / plain Fastify", rest.ratios["gateway-rest/fastify"], 0.8, rest.spread["gateway-rest/fastify"]],
      ["Connect JSON (HTTP/1.1) / plain Fastify", rest.ratios["gateway-connect-json/fastify"], 0.6, rest.spread["gateway-connect-json/fastify"]],
      ["Connect binary (HTTP/1.1) / plain Fastify", rest.ratios["gateway-connect-proto/fastify"], 0.6, rest.spread["gateway-connect-proto/fastify"]],
      ["Connect GET, JSON (HTTP/1.1) / plain Fastify", rest.ratios["gateway-connect-get/fastify"], 0.6, rest.spread["gateway-connect-get/fastify"]],
      ["Connect JSON (HTTP/2) / plain Fastify", rest.ratios["gateway-connect-json-h2/fastify"], 0.6, rest.spread["gateway-connect-json-h2/fastify"]],
      ["gRPC-Web binary (HTTP/1.1) / plain Fastify", rest.ratios["gateway-connect-grpc-web/fastify"], 0.6, rest.spread["gateway-connect-grpc-web/fastify"]],
    ]),
    `The same route of plain Fastify over HTTP/2 (h2c, one call in flight per connection) is what Node's HTTP/2 costs before any gateway work: ` +
      `Connect JSON (HTTP/2) / plain Fastify (HTTP/2) ${fmt(rest.ratios["gateway-connect-json-h2/fastify-h2"] ?? Number.NaN, 2)}×. ` +
      `Bare node:http2 answering a pre-encoded Connect JSON body, the most any HTTP/2 server in Node can do here, reaches ` +
      `${fmt(rest.ratios["http2-ceiling-json-h2/fastify"] ?? Number.NaN, 2)}× the plain Fastify route over HTTP/1.1; ` +
      `the gateway's Connect JSON (HTTP/2) is ${fmt(rest.ratios["gateway-connect-json-h2/http2-ceiling-json-h2"] ?? Number.NaN, 2)}× of it.`,
    "",
    `What the REST lane saves: REST GET on the lane / on the Fastify route (lanes off) ${fmt(rest.ratios["gateway-rest/connect-handler-rest"] ?? Number.NaN, 2)}×.`,
    "",
    `Ratios of loaded req/s: ${ratios(rest.ratios)}.`,
    "",
  );
  return lines;
}

function streamingSection(streaming: StreamingResults): string[] {
  const header = [
    "| Peer | subscribers | client processes | ticks published/s | messages delivered/s | latency p50 ms | p99 ms | samples | streams ended | server cores | server CPU µs/message |",
    "|------|------------:|-----------------:|------------------:|---------------------:|---------------:|-------:|--------:|--------------:|-------------:|----------------------:|",
  ];
  const row = (r: StreamingResults["throughput"][number]) =>
    r.error !== undefined ? `| ${r.peer} | ${r.subscribers} | failed: ${r.error.replace(/\|/g, "/").slice(0, 160)} | | | | | | |` :
    `| ${r.peer} | ${r.subscribers} | ${r.clientProcesses} | ${fmt(r.publishedPerSecond, 0)} | ${fmt(r.deliveredPerSecond, 0)} | ` +
    `${fmt(r.latency.p50Ms)} | ${fmt(r.latency.p99Ms)} | ${r.latency.count} | ${r.endedStreams} | ${fmt(r.serverCores, 2)} | ${fmt(r.serverCpuUsPerMessage, 2)} |`;
  const lines = [
    "## Server streaming: `SubscribeSnapshots`",
    "",
    "\"gateway\" is the gateway as it ships (lean gRPC lane on); \"gateway-connect\", when present, is the same with GRPC_LANE=off. " +
      `Every subscriber asks for all ${streaming.symbolsPerStream} symbols; the feed runs inside the server process and ` +
      "stamps each tick with its publish time on the system's monotonic clock, which receivers read too. " +
      "The lean client is raw node:http2 that counts messages by their gRPC length prefixes and decodes one in 16 (all of them in the paced run), " +
      "spread over several processes, so its figures are the server's.",
    "",
    "Feed inside the server process, as fast as it can: an in-process line, kept to compare with earlier runs. It measures conflation at the source " +
      "more than fan-out (the latency is mostly time queued behind the backlog; slow streams are conflated, so delivered can be below published × subscribers); " +
      "the external feed above is the deployment users run:",
    "",
    ...header,
    ...streaming.throughput.map(row),
    "",
    `Ratios of delivered msg/s: ${ratios(streaming.ratios)}.`,
    "",
    `Feed paced at ${streaming.pacedTicksPerSecond} ticks/s (push latency without saturation):`,
    "",
    ...header,
    ...streaming.paced.map(row),
    "",
    "With a real client (connect-node's gRPC transport, a `for await` loop per stream, every message decoded), feed as fast as it can:",
    "",
    ...header,
    ...streaming.realClient.map(row),
    "",
    "Memory per idle stream (each stream subscribed to one symbol and holding its first snapshot; after a full GC):",
    "",
    "| Peer | open streams | RSS per stream | heap per stream | RSS before → after | heap before → after |",
    "|------|-------------:|---------------:|----------------:|-------------------:|--------------------:|",
    ...streaming.idleMemory.map(
      (m) =>
        m.error !== undefined ? `| ${m.peer} | ${m.streams} | failed: ${m.error.replace(/\|/g, "/").slice(0, 160)} | | | |` :
        `| ${m.peer} | ${m.streams} | ${kib(m.rssBytesPerStream)} | ${kib(m.heapBytesPerStream)} | ` +
        `${mib(m.before.rss)} → ${mib(m.after.rss)} | ${mib(m.before.heapUsed)} → ${mib(m.after.heapUsed)} |`,
    ),
    "",
  ];
  return lines;
}

function externalFeedSection(feed: ExternalFeedResults): string[] {
  const run = (row: string, peer: string) => feed.runs.find((r) => r.row === row && r.peer === peer);
  const rowTitle = (id: string) => feed.rows.find((r) => r.id === id)?.title;
  const peers = ["gateway", "grpc-js"];
  const failed = (r: FeedRun) => `failed: ${(r.error ?? "").replace(/\|/g, "/").slice(0, 120)}`;
  // A server that answers PublishTicks slowly holds the producer back: say so,
  // or a low offered rate reads as a light load.
  const heldBack = (r: FeedRun) =>
    r.sentTicksPerSecond < 0.95 * r.offeredTicksPerSecond ? ` (the producer sent ${fmt(r.sentTicksPerSecond, 0)} of ${fmt(r.offeredTicksPerSecond, 0)} ticks/s)` : "";
  // Each cell of the targets table, given one peer's run of a row.
  const cells: Record<string, (r: FeedRun) => string> = {
    a: (r) =>
      `${rate(r.deliveredPerSecond)} of ${rate(r.offeredMessagesPerSecond)} msg/s delivered${heldBack(r)}, p50 ${ms(r.latency.p50Ms)}, ` +
      `p99 ${ms(r.latency.p99Ms)}, ${fmt(r.serverCores, 2)} cores`,
    b: (r) =>
      `p99 ${ms(r.latency.p99Ms)}, ${fmt(r.skippedUpdates, 0)} updates conflated${heldBack(r)}; PublishTicks p99 ${ms(r.publish.latency.p99Ms)}; ` +
      `RSS ${mib(r.rssBytes.start)} → ${mib(r.rssBytes.end)}`,
    c: (r) => {
      const a = run("a", r.peer);
      const change = a === undefined || a.error !== undefined ? "" : ` (${percentChange(r.latency.p99Ms, a.latency.p99Ms)} vs row a)`;
      return `others' p99 ${ms(r.latency.p99Ms)}${change}; RSS ${mib(r.rssBytes.start)} → ${mib(r.rssBytes.end)}`;
    },
    d: (r) => `p50 ${ms(r.latency.p50Ms)}, p99 ${ms(r.latency.p99Ms)}`,
    cpu: (r) => `${fmt(r.serverCpuUsPerMessage, 2)} µs`,
    e: (r) => `${fmt(r.deliveredPerSecond, 0)} msg/s of ${fmt(r.sentTicksPerSecond, 0)} ticks/s sent`,
  };
  const targetRow = (label: string, row: string, cell: (r: FeedRun) => string, target: string, extra = "") => {
    const values = peers.map((peer) => {
      const r = run(row, peer);
      return r === undefined ? "not run" : r.error !== undefined ? failed(r) : cell(r);
    });
    return `| ${label} | ${values[0]}${extra} | ${values[1]} | ${target} |`;
  };
  const ratioOf = (row: string) => feed.ratios[`gateway/grpc-js, row ${row}`];
  const lines = [
    "## Fan-out from an external feed: the deployment users run",
    "",
    `Each server runs in its own process (the gateway with SIMULATOR=off). A producer process calls \`MarketFeedService.PublishTicks\` over gRPC ` +
      `(connect-node) every ${feed.intervalMs} ms with the same number of ticks, round-robin over ${feed.symbols} symbols, \`exchange_time\` = now; ` +
      "it keeps that pace whatever the server does, up to ten calls in flight. Subscriber processes hold raw HTTP/2 streams, " +
      `each for the same ${feed.symbols} symbols, ${feed.streamsPerConnection} to a connection; every message is counted, checked for a jump in its symbol's ` +
      "sequence (an update conflated away) and timed: latency is receive time minus `exchange_time`, all messages, in an HDR histogram. " +
      "The gateway keeps `exchange_time` in whole milliseconds, so its latencies carry ±0.5 ms. " +
      "\"grpc-js\" is `@grpc/grpc-js` with the fan-out a grpc-js user writes first: PublishTicks writes each update to every subscribed call at once, " +
      "with no conflation and no regard for `write()`'s answer. Each row runs on a fresh server; CPU and memory are read from /proc. " +
      `Gateway settings from the environment: ${settingsText(feed.gatewaySettings)}.`,
    "",
    "| Scenario | gateway | grpc-js (naive fan-out) | target |",
    "|----------|---------|-------------------------|--------|",
  ];
  const has = (row: string) => feed.rows.some((r) => r.id === row);
  if (has("a")) lines.push(targetRow(`(a) ${rowTitle("a")}`, "a", cells.a!, FEED_TARGETS.a));
  if (has("b")) lines.push(targetRow(`(b) ${rowTitle("b")}`, "b", cells.b!, FEED_TARGETS.b));
  if (has("c")) lines.push(targetRow(`(c) ${rowTitle("c")}`, "c", cells.c!, FEED_TARGETS.c));
  if (has("d")) lines.push(targetRow(`(d) ${rowTitle("d")}`, "d", cells.d!, FEED_TARGETS.d));
  if (has("a")) lines.push(targetRow("server CPU per delivered message, row a", "a", cells.cpu!, FEED_TARGETS.cpu));
  if (has("e")) lines.push(targetRow(`(e) ${rowTitle("e")}: delivered msg/s`, "e", cells.e!, `${FEED_TARGETS.e} grpc-js`, `, **${fmt(ratioOf("e"), 2)}× grpc-js**`));
  if (has("a")) lines.push(`| row a, gateway vs grpc-js | **${fmt(ratioOf("a"), 2)}×** delivered msg/s | 1× | ${FEED_TARGETS.ratio} |`);
  lines.push(
    "",
    `Ratios of delivered msg/s, same run: ${ratios(feed.ratios)}.`,
    "",
    "Every run (ms; RSS in MiB, start → end, peak in brackets; load is the one-minute load average when the run ended, " +
      "of which the bench's own server, producer and subscribers account for up to about 2):",
    "",
    "| row | peer | streams | ticks/s sent | offered msg/s | delivered msg/s | p50 | p99 | max | sequence jumps (updates skipped) | PublishTicks p50 / p99 | server cores | server µs/msg | RSS | client cores | producer cores | load |",
    "|-----|------|--------:|-------------:|--------------:|----------------:|----:|----:|----:|------------------:|-----------------:|-------------:|--------------:|-----|-------------|---------------:|-----:|",
    ...feed.runs.map((r) => {
      const streams = r.stalledStreams > 0 ? `${r.streams} + ${r.stalledStreams} stalled` : `${r.streams}`;
      if (r.error !== undefined) return `| ${r.row} | ${r.peer} | ${streams} | ${failed(r)} | | | | | | | | | | | | | ${fmt(r.loadAverage, 2)} |`;
      const rss = `${fmt(mibOf(r.rssBytes.start), 0)} → ${fmt(mibOf(r.rssBytes.end), 0)} (${fmt(mibOf(r.rssBytes.peak), 0)})`;
      const clientBound = r.clientCores.some((c) => c > 0.9) ? " (client-bound?)" : "";
      return (
        `| ${r.row} | ${r.peer} | ${streams} | ${fmt(r.sentTicksPerSecond, 0)} | ${fmt(r.offeredMessagesPerSecond, 0)} | ${fmt(r.deliveredPerSecond, 0)} | ` +
        `${fmt(r.latency.p50Ms)} | ${fmt(r.latency.p99Ms)} | ${fmt(r.latency.maxMs)} | ${fmt(r.sequenceJumps, 0)} (${fmt(r.skippedUpdates, 0)}) | ` +
        `${fmt(r.publish.latency.p50Ms)} / ${fmt(r.publish.latency.p99Ms)} | ${fmt(r.serverCores, 2)} | ${fmt(r.serverCpuUsPerMessage, 2)} | ${rss} | ` +
        `${r.clientCores.map((c) => fmt(c, 2)).join(", ")}${clientBound} | ${fmt(r.producerCores, 2)} | ${fmt(r.loadAverage, 2)} |`
      );
    }),
    "",
  );
  const anomalies = feed.runs.filter((r) => r.error === undefined && (r.endedStreams > 0 || r.outOfOrder > 0 || r.publish.failed > 0));
  for (const r of anomalies) {
    lines.push(`Row ${r.row}, ${r.peer}: ${r.endedStreams} streams ended, ${r.outOfOrder} updates out of order, ${r.publish.failed} PublishTicks calls failed.`, "");
  }
  return lines;
}

// Millions where the table's targets speak in millions, plain counts below.
function reliabilitySection(r: ReliabilityResults): string[] {
  const gauges = (g: Record<string, number>) =>
    Object.entries(g)
      .filter(([k]) => k.startsWith("grpc_active_streams") || k === "stockify_hub_subscriptions")
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
  const b = r.bomb;
  const f = r.frozenStore;
  const s = r.stuck;
  const lines = [
    "## Reliability: resets, gzip bombs, a frozen store, stuck subscribers",
    "",
    "| Streams dropped | Gauges while open | Back to 0 after | Gauges then |",
    "|-----------------|-------------------|----------------:|-------------|",
    ...r.resets.map(
      (run) =>
        `| ${run.sseStreams} SSE + ${run.grpcStreams} gRPC, ${run.how === "destroy" ? "socket.destroy / session.destroy" : "client process SIGKILLed"} | ` +
        `${gauges(run.open)} | ${run.zeroAfterMs === undefined ? `not within ${run.boundMs} ms` : ms(run.zeroAfterMs)} | ${gauges(run.after)} |`,
    ),
    "",
    "| GetSnapshot, a paced caller with a read token | calls | p50 ms | p90 ms | p99 ms | max ms |",
    "|-----------------------------------------------|------:|-------:|-------:|-------:|-------:|",
    latencyRow("alone", b.alone),
    latencyRow(`while ${b.bombs} token-less PublishTicks bombs arrive`, b.underBombs),
    "",
    `Each bomb is ${kib(b.compressedBytes)} of gzip inflating to ${mib(b.inflatedBytes)}, sent without a token to a gateway with \`AUTH_TOKENS\` set; ` +
      `${b.bombs} at a time, ${Object.values(b.statuses).reduce((a, c) => a + c, 0)} in all, answered ${Object.entries(b.statuses).map(([status, n]) => `grpc-status ${status} × ${n}`).join(", ")}, each within ${ms(b.refusedWithinMs)}; gateway RSS ${mib(b.rssBytes.before)} before, ${mib(b.rssBytes.after)} after.`,
    "",
    `Frozen store (redis-server stopped with SIGSTOP for ${fmt(f.freezeMs / 1000, 0)} s): \`/readyz\` answered 200 for ${ms(f.readyForMs)} into the freeze; ` +
      `the first GetSnapshot took ${ms(f.firstCallMs)}, the next one ${ms(f.callAfterMs)}.`,
    "",
    `| ${s.healthyStreams} healthy subscribers, ${fmt(s.ticksPerSecond, 0)} ticks/s fed | messages | p50 ms | p90 ms | p99 ms | max ms |`,
    "|------|------:|-------:|-------:|-------:|-------:|",
    latencyRow("alone", s.alone.latency),
    latencyRow(`beside ${s.stuckStreams} stuck subscribers`, s.withStuck.latency),
    latencyRow("alone again, the stuck ones gone", s.afterStuck.latency),
    "",
    `Healthy p99 beside the stuck subscribers over the mean of the two runs alone: ${fmt(s.p99Ratio, 2)}× (target under 1.1×: ${s.p99Ratio < 1.1 ? "met" : "missed"}).`,
    "",
    `Gateway RSS ${mib(s.alone.rssBytes)} alone, ${mib(s.withStuck.rssBytes)} with the stuck ones; stockify_stream_buffered_bytes ` +
      `${mib(s.alone.bufferedBytes)} then ${mib(s.withStuck.bufferedBytes)}; ${s.withStuck.evictions} budget evictions; ` +
      `${s.withStuck.endedHealthyStreams} healthy streams ended. Load average ${r.loadAverage} when the suite ended.`,
    "",
  ];
  return lines;
}

function historySection(r: HistoryResults): string[] {
  const t = r.targets;
  const met = (ok: boolean) => (ok ? "met" : "missed");
  const q = r.queries;
  const pg = r.ingest.find((run) => run.setup === "PostgreSQL")!.run;
  return [
    "## History: the embedded default, ingest into PostgreSQL beside live streams, reads",
    "",
    `| Embedded candidate (${fmt(r.embeddedTicks, 0)} ticks, batches of 5,000) | ticks/s | main-loop delay p99 while ingesting | day of 1m bars p50 / p99 | page of 1,000 ticks p50 / p99 | RSS |`,
    "|---|--:|--:|--:|--:|--:|",
    ...r.embedded.map(
      (e) =>
        `| ${e.candidate === "memory" ? "in-memory window, in process" : "PGlite on a worker thread"} | ${rate(e.ticksPerSecond)} | ${ms(e.loopDelayP99Ms)} | ` +
        `${ms(e.dayOf1mBars.p50Ms)} / ${ms(e.dayOf1mBars.p99Ms)} | ${ms(e.ticksPage1000.p50Ms)} / ${ms(e.ticksPage1000.p99Ms)} | ${e.rssMiB} MiB |`,
    ),
    "",
    `| ${pg.streams} live streams, ${rate(pg.offeredTicksPerSecond)} ticks/s scheduled | ticks/s sent | delivered msg/s | p50 ms | p99 ms | server cores |`,
    "|---|--:|--:|--:|--:|--:|",
    ...r.ingest.map(
      ({ setup, run }) =>
        `| history ${setup === "history off" ? "off" : `in ${setup === "PostgreSQL" ? "PostgreSQL" : "the in-memory window"}`} | ${rate(run.sentTicksPerSecond)} | ${rate(run.deliveredPerSecond)} | ` +
        `${fmt(run.latency.p50Ms)} | ${fmt(run.latency.p99Ms)} | ${fmt(run.serverCores ?? Number.NaN)} |`,
    ),
    "",
    `| Figure | measured | target | |`,
    "|---|--:|--:|---|",
    `| ticks/s written to PostgreSQL (${fmt(r.written.ticks, 0)} rows over ${fmt(r.written.spanS, 1)} s of feed) | ${rate(r.written.perSecond)} | ≥ ${rate(t.ticksPerSecond)} | ${met(r.written.perSecond >= t.ticksPerSecond)} |`,
    `| live p99, history in PostgreSQL over history off | ${r.liveP99IncreasePercent >= 0 ? "+" : ""}${fmt(r.liveP99IncreasePercent, 1)}% | < ${t.liveP99IncreasePercent}% | ${met(r.liveP99IncreasePercent < t.liveP99IncreasePercent)} |`,
    `| GetCandles, ${q.bars} 1m bars, p50 (pgbench floor ${ms(q.floorCandles.p50Ms)}) | ${ms(q.getCandles.p50Ms)} | ≤ ${t.getCandlesDayP50Ms} ms | ${met(q.getCandles.p50Ms <= t.getCandlesDayP50Ms)} |`,
    `| GetCandles p99 (pgbench floor ${ms(q.floorCandles.p99Ms)}) | ${ms(q.getCandles.p99Ms)} | ≤ ${t.getCandlesDayP99Ms} ms | ${met(q.getCandles.p99Ms <= t.getCandlesDayP99Ms)} |`,
    `| GetTicks, page of ${q.rows}, p50 (pgbench floor ${ms(q.floorTicks.p50Ms)}) | ${ms(q.getTicks.p50Ms)} | ≤ ${t.getTicksPageP50Ms} ms | ${met(q.getTicks.p50Ms <= t.getTicksPageP50Ms)} |`,
    "",
    `Load average ${r.loadAverage} when the suite ended.`,
    "",
  ];
}

function rate(value: number): string {
  return value >= 100_000 ? `${fmt(value / 1e6, 2)}M` : fmt(value, 0);
}

function settingsText(settings: Record<string, string> | undefined): string {
  const entries = Object.entries(settings ?? {});
  return entries.length === 0 ? "none, its defaults" : entries.map(([name, value]) => `\`${name}=${value}\``).join(", ");
}

function mibOf(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : bytes / 2 ** 20;
}

function percentChange(value: number, reference: number): string {
  if (!(reference > 0) || !Number.isFinite(value)) return "n/a";
  const change = Math.round((100 * (value - reference)) / reference);
  return `${change >= 0 ? "+" : ""}${change}%`;
}

function kib(bytes: number): string {
  return `${fmt(bytes / 1024, 1)} KiB`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${fmt(bytes / 2 ** 20, 0)} MiB`;
}

function latencyRow(name: string, l: { count: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number }): string {
  return `| ${name} | ${l.count} | ${fmt(l.p50Ms)} | ${fmt(l.p90Ms)} | ${fmt(l.p99Ms)} | ${fmt(l.maxMs)} |`;
}

function ms(value: number): string {
  return `${fmt(value)} ms`;
}

// "3.2× faster" when b takes less time than a, "1.4× slower" otherwise.
function speedup(a: number, b: number): string {
  if (!(a > 0 && b > 0)) return "n/a";
  return a >= b ? `**${fmt(a / b, 1)}× faster**` : `**${fmt(b / a, 1)}× slower**`;
}

function smaller(part: number, whole: number): string {
  return `**${Math.round(100 - (100 * part) / whole)}% smaller**`;
}

/** ratios lists "a/b" ratios that were measured. */
// Each ratio beside its target: the figures the per-request cost is held to.
// The verdict goes by the median of the rounds; the spread shows how far one round could mislead.
function targetsTable(rows: [label: string, value: number | undefined, atLeast: number, spread?: [number, number]][]): string[] {
  return [
    "| Ratio | measured (median of the rounds) | lowest–highest round | target | |",
    "|-------|---------:|---------:|-------:|-|",
    ...rows.map(([label, value, atLeast, spread]) => {
      const measured = value === undefined || Number.isNaN(value) ? "not run" : `${fmt(value, 2)}×`;
      const range = spread === undefined || Number.isNaN(spread[0]) ? "" : `${fmt(spread[0], 2)}–${fmt(spread[1], 2)}×`;
      const verdict = value === undefined || Number.isNaN(value) ? "" : value >= atLeast ? "met" : "missed";
      return `| ${label} | ${measured} | ${range} | ≥ ${fmt(atLeast, 2)}× | ${verdict} |`;
    }),
    "",
  ];
}

export function ratios(values: Record<string, number>): string {
  const known = Object.entries(values).filter(([, v]) => Number.isFinite(v));
  return known.length === 0 ? "not measured (a peer was left out)" : known.map(([k, v]) => `${k} ${v}×`).join(", ");
}

/** fmt prints a figure with thousands separators, or "n/a". */
export function fmt(value: number | undefined, decimals = 2): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
