import type { MachineInfo } from "../lib/machine.js";
import type { RestResults } from "../suites/rest.js";
import { SEED_CLAIMS, type SeedResults } from "../suites/seed.js";
import type { StreamingResults } from "../suites/streaming.js";
import type { UnaryResults } from "../suites/unary.js";

/**
 * BenchResults is everything one run measured: the file latest.json holds
 * and the report is rendered from.
 */
export interface BenchResults {
  machine: MachineInfo;
  settings: { suites: string[]; quick: boolean; durationS: number; warmupS: number; only: string[] };
  unary?: UnaryResults;
  rest?: RestResults;
  seed?: SeedResults;
  streaming?: StreamingResults;
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
      " The machine is shared with other work, so figures move from run to run: compare peers within one run, not across runs.",
    "",
    "![chart](chart.svg)",
    "",
  ];
  if (results.seed !== undefined) out.push(...seedSection(results.seed));
  if (results.unary !== undefined) out.push(...unarySection(results.unary));
  if (results.rest !== undefined) out.push(...restSection(results.rest));
  if (results.streaming !== undefined) out.push(...streamingSection(results.streaming));
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
    "| Peer | req/s (-c 16 -m 8) | p50 ms | p99 ms | server CPU µs/call | req/s (1 in flight) | p50 ms | p99 ms | failed |",
    "|------|-------------------:|-------:|-------:|-------------------:|--------------------:|-------:|-------:|-------:|",
  ];
  for (const p of unary.peers) {
    lines.push(
      `| ${p.label} | ${fmt(p.loaded.requestsPerSecond, 0)} | ${fmt(p.loaded.latency.p50Ms)} | ${fmt(p.loaded.latency.p99Ms)} | ${fmt(p.cpuUsPerCall, 1)} | ` +
        `${fmt(p.single.requestsPerSecond, 0)} | ${fmt(p.single.latency.p50Ms)} | ${fmt(p.single.latency.p99Ms)} | ${p.loaded.failed + p.single.failed} |`,
    );
  }
  lines.push(
    "",
    `Ratios: ${ratios(unary.ratios)}. Server CPU per call is the server process's CPU time over the loaded run divided by its calls; ` +
      "calls per CPU-second compare peers as if each had a core to itself, which moves less than req/s on a shared machine.",
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
    "## JSON over HTTP/1.1 with wrk",
    "",
    rest.gatewayRest ? "The gateway's REST route and its Connect JSON path against a plain Fastify route." : "This build of the gateway has no REST routes: its Connect JSON path stands in, against a plain Fastify route.",
    "",
    "| Target | request | req/s (-c 16) | p50 ms | p99 ms | req/s (-c 1) | p50 ms | p99 ms | failed |",
    "|--------|---------|--------------:|-------:|-------:|-------------:|-------:|-------:|-------:|",
  ];
  for (const t of rest.targets) {
    lines.push(
      `| ${t.label} | \`${t.request}\` | ${fmt(t.loaded.requestsPerSecond, 0)} | ${fmt(t.loaded.latency.p50Ms)} | ${fmt(t.loaded.latency.p99Ms)} | ` +
        `${fmt(t.single.requestsPerSecond, 0)} | ${fmt(t.single.latency.p50Ms)} | ${fmt(t.single.latency.p99Ms)} | ${t.loaded.failed + t.single.failed} |`,
    );
  }
  lines.push("", `Ratios of loaded req/s: ${ratios(rest.ratios)}.`, "");
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
    "Feed as fast as it can (the latency is mostly time queued behind the backlog; slow streams are conflated, so delivered can be below published × subscribers):",
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

function kib(bytes: number): string {
  return `${fmt(bytes / 1024, 1)} KiB`;
}

function mib(bytes: number): string {
  return `${fmt(bytes / 2 ** 20, 0)} MiB`;
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
export function ratios(values: Record<string, number>): string {
  const known = Object.entries(values).filter(([, v]) => Number.isFinite(v));
  return known.length === 0 ? "not measured (a peer was left out)" : known.map(([k, v]) => `${k} ${v}×`).join(", ");
}

/** fmt prints a figure with thousands separators, or "n/a". */
export function fmt(value: number | undefined, decimals = 2): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
