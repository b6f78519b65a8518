import * as http2 from "node:http2";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild, type Child } from "../lib/child.js";
import { runH2load, runWrk, type LoadResult, type WrkOptions } from "../lib/load-tools.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { cpuPer, processCpuMs } from "../lib/process-cpu.js";
import { interleavedRounds, median, medianIndex, relativeScores, roundRatio, splitRatios, type RoundRatio } from "../lib/rounds.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

/** Most seconds of the run whose heap allocations are sampled (no longer than a measurement). */
const ALLOCATION_RUN_S = 2;

/** The target every other is measured beside, round by round. */
const REFERENCE_TARGET = "fastify";

/** Connections of the loaded HTTP/1.1 runs (one request in flight on each). */
export const REST_CONNECTIONS = 16;

/**
 * RestTargetResult is one HTTP/1.1 JSON route's figures.
 */
export interface RestTargetResult {
  target: string;
  label: string;
  request: string;
  /** The loaded run (-c 16) of the median round (by req/s). */
  loaded: LoadResult;
  /** Loaded req/s of every run, in order: one per round, or for plain Fastify one before the first target and one after each. */
  rounds: number[];
  /** Server CPU time per call of the loaded runs, in microseconds: the median of the runs (Linux only). */
  cpuUsPerCall?: number;
  single: LoadResult;
  /** Heap allocations per call, from V8's sampling heap profiler over a short run of its own. */
  allocations: { bytesPerCall: number };
}

/**
 * RestResults compares JSON over HTTP/1.1: the gateway's REST routes (when
 * the gateway has them) and its unary Connect calls (JSON and binary, POST
 * and GET, HTTP/1.1 and HTTP/2, on the lean lane and on Connect's handler)
 * against a plain Fastify route.
 */
export interface RestResults {
  /** False when the gateway answered no REST route, so only Connect JSON was measured. */
  gatewayRest: boolean;
  targets: RestTargetResult[];
  /**
   * Loaded req/s of one target over another's: the median over the rounds,
   * each target's figure taken over the mean of the plain Fastify runs
   * either side of it.
   */
  ratios: Record<string, number>;
  /** The lowest and highest round of each ratio. */
  spread: Record<string, [min: number, max: number]>;
}

interface Target {
  target: string;
  label: string;
  request: Omit<WrkOptions, "connections" | "durationS" | "warmupS">;
  /** Measured over HTTP/2 with h2load (-c 16 -m 1, one call in flight per connection, as wrk's), not wrk. Default false. */
  http2?: boolean;
  /** The server speaks only HTTP/2 (h2c), so its answer is checked over HTTP/2. Default false. */
  h2Only?: boolean;
}

const GET_SNAPSHOT = `/${MarketDataService.typeName}/${MarketDataService.method.getSnapshot.name}`;
/** GetSnapshotRequest{symbol_id} in protobuf: field 1, varint. */
const GET_SNAPSHOT_PROTO = String.fromCharCode(0x08, BENCH_SYMBOL_ID);

/** The unary Connect requests each gateway answers (JSON and protobuf, POST and GET, HTTP/1.1 and HTTP/2), and gRPC-Web's. */
function connectTargets(prefix: string, label: string): Target[] {
  const json = { "content-type": "application/json" };
  const jsonBody = JSON.stringify({ symbolId: BENCH_SYMBOL_ID });
  return [
    { target: `${prefix}-json`, label: `${label} Connect JSON (HTTP/1.1)`, request: { url: GET_SNAPSHOT, method: "POST", body: jsonBody, headers: json } },
    {
      target: `${prefix}-proto`,
      label: `${label} Connect binary (HTTP/1.1)`,
      request: { url: GET_SNAPSHOT, method: "POST", body: GET_SNAPSHOT_PROTO, headers: { "content-type": "application/proto" } },
    },
    {
      target: `${prefix}-get`,
      label: `${label} Connect GET, JSON (HTTP/1.1)`,
      request: { url: `${GET_SNAPSHOT}?encoding=json&message=${encodeURIComponent(jsonBody)}` },
    },
    { target: `${prefix}-json-h2`, label: `${label} Connect JSON (HTTP/2)`, request: { url: GET_SNAPSHOT, method: "POST", body: jsonBody, headers: json }, http2: true },
    {
      target: `${prefix}-grpc-web`,
      label: `${label} gRPC-Web binary (HTTP/1.1)`,
      request: {
        url: GET_SNAPSHOT,
        method: "POST",
        // One uncompressed envelope around the protobuf request.
        body: `\0\0\0\0${String.fromCharCode(GET_SNAPSHOT_PROTO.length)}${GET_SNAPSHOT_PROTO}`,
        headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      },
    },
  ];
}

/**
 * restSuite starts the gateway (lanes on and off) and the plain Fastify
 * peers, each in its own process, and runs wrk (h2load for the HTTP/2
 * rows) against every target: the loaded runs in rounds, plain Fastify
 * between every two targets, then one run of each with one connection,
 * and one with the heap sampled.
 */
export async function restSuite(settings: BenchSettings, log: (line: string) => void): Promise<RestResults> {
  const servers: Child[] = [];
  const items: { server: Child; target: Target; url: string }[] = [];
  let gatewayRest = false;
  const add = async (server: Child, target: Target) => {
    const url = `http://127.0.0.1:${server.ready.port as number}${target.request.url}`;
    await (target.h2Only ? checkAnswerH2(url) : checkAnswer({ ...target.request, url }));
    items.push({ server, target, url });
  };
  const start = async (script: string, env?: Record<string, string>) => {
    const child = await startChild(script, { env });
    servers.push(child);
    return child;
  };
  try {
    if (wants(settings, "gateway")) {
      const gateway = await start("peers/gateway.ts");
      const restPath = `/v1/snapshots/${BENCH_SYMBOL_ID}`;
      gatewayRest = (await fetch(`http://127.0.0.1:${gateway.ready.port as number}${restPath}`)).ok;
      if (gatewayRest) await add(gateway, { target: "gateway-rest", label: "gateway REST (JSON, HTTP/1.1)", request: { url: restPath } });
      for (const target of connectTargets("gateway-connect", "gateway")) await add(gateway, target);
    }
    // The same calls on Connect's own handler, in the same run: what the lean lanes save.
    if (wants(settings, "gateway-connect-handler")) {
      const gateway = await start("peers/gateway.ts", { CONNECT_LANE: "off", GRPC_WEB_LANE: "off", REST_LANE: "off" });
      const restPath = `/v1/snapshots/${BENCH_SYMBOL_ID}`;
      if ((await fetch(`http://127.0.0.1:${gateway.ready.port as number}${restPath}`)).ok) {
        await add(gateway, { target: "connect-handler-rest", label: "gateway REST, lane off (Fastify route)", request: { url: restPath } });
      }
      for (const target of connectTargets("connect-handler", "gateway, lanes off,")) await add(gateway, target);
    }
    if (wants(settings, "fastify")) {
      const fastify = await start("peers/fastify-json.ts");
      await add(fastify, { target: "fastify", label: "plain Fastify JSON route", request: { url: `/v1/snapshots/${BENCH_SYMBOL_ID}` } });
      // The same route over h2c: what one call in flight per HTTP/2
      // connection costs Node (and Fastify) before any gateway work.
      const fastifyH2 = await start("peers/fastify-json.ts", { PEER_HTTP2: "1" });
      await add(fastifyH2, {
        target: "fastify-h2",
        label: "plain Fastify JSON route (HTTP/2)",
        request: { url: `/v1/snapshots/${BENCH_SYMBOL_ID}` },
        http2: true,
        h2Only: true,
      });
    }
    // Node's own HTTP/2 with nothing on top: a pre-encoded Connect JSON
    // answer on the raw stream, one call in flight per connection, as the
    // Connect HTTP/2 row is measured. No HTTP/2 server can beat it here.
    if (wants(settings, "http2-ceiling")) {
      const ceiling = await start("peers/http2-ceiling.ts", { PEER_ANSWER: "connect-json" });
      await add(ceiling, {
        target: "http2-ceiling-json-h2",
        label: "bare node:http2, pre-encoded Connect JSON answer",
        request: { url: GET_SNAPSHOT, method: "POST", body: JSON.stringify({ symbolId: BENCH_SYMBOL_ID }), headers: { "content-type": "application/json" } },
        http2: true,
        h2Only: true,
      });
    }

    const run = (
      { target, url }: (typeof items)[number],
      connections: number,
      durationS = settings.durationS,
      warmupS = settings.warmupS,
      onMeasureStart?: () => void,
    ) =>
      target.http2
        ? runH2load({
            url,
            body: Buffer.from(target.request.body ?? "", "latin1"),
            headers: target.request.headers ?? {},
            connections,
            inFlight: 1,
            durationS,
            warmupS,
            onMeasureStart,
          })
        : runWrk({ ...target.request, url, connections, durationS, warmupS, onMeasureStart });
    const tool = (target: Target) => (target.http2 ? "h2load -m 1" : "wrk");
    // Plain Fastify is run between every two targets: each is compared
    // with the Fastify runs seconds either side of it.
    const reference = items.find((item) => item.target.target === REFERENCE_TARGET);
    const others = items.filter((item) => item !== reference);
    const measured = await interleavedRounds(reference, others, settings.rounds, async (item, round) => {
      log(`rest: round ${round + 1} of ${settings.rounds}, ${item.target.target}, ${tool(item.target)} -c ${REST_CONNECTIONS} for ${settings.durationS}s`);
      let cpuBefore: number | undefined;
      const loaded = await run(item, REST_CONNECTIONS, settings.durationS, settings.warmupS, () => (cpuBefore = processCpuMs(item.server.pid)));
      return { loaded, cpuUsPerCall: cpuPer(cpuBefore, processCpuMs(item.server.pid), loaded.succeeded) };
    });
    const runsOf = (item: (typeof items)[number]) => (item === reference ? measured.referenceRuns : measured.runs[others.indexOf(item)]!.map((r) => r.run));
    const targets: RestTargetResult[] = [];
    for (const item of items) {
      const { server, target } = item;
      log(`rest: ${target.target}, ${tool(target)} -c 1 for ${settings.durationS}s, then the heap sampled`);
      const single = await run(item, 1);
      // Allocations come from a run of their own: sampling slows the server.
      await server.request("alloc-start");
      const sampled = await run(item, REST_CONNECTIONS, Math.min(ALLOCATION_RUN_S, settings.durationS), 0);
      const heap = await server.request("alloc-stop");
      const allocations = { bytesPerCall: Math.round(Number(heap.bytes) / Math.max(1, sampled.succeeded)) };
      const runs = runsOf(item);
      const rounds = runs.map((r) => r.loaded.requestsPerSecond);
      const loaded = runs[medianIndex(rounds)]!.loaded;
      const cpu = runs.map((r) => r.cpuUsPerCall).filter((us): us is number => us !== undefined);
      log(`rest: ${target.target}: ${rounds.join(", ")} req/s loaded, p50 ${single.latency.p50Ms} ms alone`);
      const method = target.request.method ?? "GET";
      targets.push({
        target: target.target,
        label: target.label,
        request: `${method} ${target.request.url}`,
        loaded,
        rounds,
        cpuUsPerCall: cpu.length === 0 ? undefined : median(cpu),
        single,
        allocations,
      });
    }
    // Each target's req/s over the Fastify runs either side of it, round
    // by round; Fastify scores 1.
    const scores = (name: string) => {
      if (name === REFERENCE_TARGET) return reference === undefined ? undefined : Array.from({ length: settings.rounds }, () => 1);
      const i = others.findIndex((item) => item.target.target === name);
      return i < 0 ? undefined : relativeScores(measured.runs[i]!, (r) => r.loaded.requestsPerSecond);
    };
    const byRate = (a: string, b: string) => roundRatio(scores(a), scores(b));
    const all: Record<string, RoundRatio> = {
      "gateway-rest/fastify": byRate("gateway-rest", "fastify"),
      "connect-handler-rest/fastify": byRate("connect-handler-rest", "fastify"),
      "gateway-rest/connect-handler-rest": byRate("gateway-rest", "connect-handler-rest"),
      "gateway-connect-json-h2/fastify-h2": byRate("gateway-connect-json-h2", "fastify-h2"),
      "gateway-connect-json-h2/http2-ceiling-json-h2": byRate("gateway-connect-json-h2", "http2-ceiling-json-h2"),
      "http2-ceiling-json-h2/fastify": byRate("http2-ceiling-json-h2", "fastify"),
      ...Object.fromEntries(
        ["json", "proto", "get", "json-h2", "grpc-web"].flatMap((kind) => [
          [`gateway-connect-${kind}/fastify`, byRate(`gateway-connect-${kind}`, "fastify")],
          [`connect-handler-${kind}/fastify`, byRate(`connect-handler-${kind}`, "fastify")],
          [`gateway-connect-${kind}/connect-handler-${kind}`, byRate(`gateway-connect-${kind}`, `connect-handler-${kind}`)],
        ]),
      ),
    };
    return { gatewayRest, targets, ...splitRatios(all) };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function checkAnswerH2(url: string): Promise<void> {
  const target = new URL(url);
  const session = http2.connect(target.origin);
  try {
    const text = await new Promise<string>((resolve, reject) => {
      session.once("error", reject);
      const stream = session.request({ ":path": target.pathname });
      let status = 0;
      stream.once("response", (headers) => (status = Number(headers[":status"])));
      stream.setEncoding("utf8");
      let body = "";
      stream.on("data", (chunk: string) => (body += chunk));
      stream.once("end", () => (status === 200 ? resolve(body) : reject(new Error(`GET ${url} over HTTP/2 answered ${status}: ${body.slice(0, 200)}`))));
      stream.once("error", reject);
    });
    const answer = JSON.parse(text) as { symbolId?: unknown; snapshot?: { symbolId?: unknown } };
    const symbolId = answer.symbolId ?? answer.snapshot?.symbolId;
    if (symbolId !== BENCH_SYMBOL_ID) throw new Error(`GET ${url} over HTTP/2 answered ${text.slice(0, 200)}`);
  } finally {
    session.close();
  }
}

async function checkAnswer(request: Target["request"]): Promise<void> {
  const body = request.body === undefined ? undefined : Buffer.from(request.body, "latin1");
  const response = await fetch(request.url, { method: request.method ?? "GET", headers: request.headers, body });
  if (response.headers.get("content-type") === "application/grpc-web+proto") {
    // An envelope of GetSnapshotResponse{snapshot{symbol_id}}, then the trailer's.
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.ok && bytes[0] === 0 && bytes[5] === 0x0a && bytes[7] === 0x08 && bytes[8] === BENCH_SYMBOL_ID) return;
    throw new Error(`${request.method} ${request.url} answered ${response.status} with ${bytes.length} bytes of gRPC-Web`);
  }
  if (response.headers.get("content-type") === "application/proto") {
    // GetSnapshotResponse{snapshot{symbol_id}}: field 1 (a message), then its field 1.
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.ok && bytes[0] === 0x0a && bytes[2] === 0x08 && bytes[3] === BENCH_SYMBOL_ID) return;
    throw new Error(`${request.method} ${request.url} answered ${response.status} with ${bytes.length} bytes of protobuf`);
  }
  const text = await response.text();
  let symbolId: unknown;
  try {
    const body = JSON.parse(text) as { symbolId?: unknown; snapshot?: { symbolId?: unknown } };
    symbolId = body.symbolId ?? body.snapshot?.symbolId;
  } catch {
    // Not JSON: reported below.
  }
  if (!response.ok || symbolId !== BENCH_SYMBOL_ID) {
    throw new Error(`${request.method ?? "GET"} ${request.url} answered ${response.status}: ${text.slice(0, 200)}`);
  }
}
