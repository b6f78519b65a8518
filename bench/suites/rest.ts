import * as http2 from "node:http2";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild, type Child } from "../lib/child.js";
import { runH2load, runWrk, type LoadResult, type WrkOptions } from "../lib/load-tools.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { ratio } from "../lib/stats.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

/** Most seconds of the run whose heap allocations are sampled (no longer than a measurement). */
const ALLOCATION_RUN_S = 2;

/** Connections of the loaded HTTP/1.1 runs (one request in flight on each). */
export const REST_CONNECTIONS = 16;

/**
 * RestTargetResult is one HTTP/1.1 JSON route's figures.
 */
export interface RestTargetResult {
  target: string;
  label: string;
  request: string;
  loaded: LoadResult;
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
  ratios: Record<string, number>;
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
 * restSuite runs wrk against the gateway's JSON paths and the plain Fastify
 * peer, each server in its own process.
 */
export async function restSuite(settings: BenchSettings, log: (line: string) => void): Promise<RestResults> {
  const targets: RestTargetResult[] = [];
  let gatewayRest = false;
  const measure = async (server: Child, target: Target) => {
    const port = server.ready.port as number;
    const url = `http://127.0.0.1:${port}${target.request.url}`;
    await (target.h2Only ? checkAnswerH2(url) : checkAnswer({ ...target.request, url }));
    const common = { ...target.request, url, durationS: settings.durationS, warmupS: settings.warmupS };
    const tool = target.http2 ? "h2load -m 1" : "wrk";
    log(`rest: ${target.target}, ${tool} -c ${REST_CONNECTIONS} and -c 1 for ${settings.durationS}s each`);
    const run = (connections: number, durationS = common.durationS, warmupS = common.warmupS) =>
      target.http2
        ? runH2load({
            url,
            body: Buffer.from(common.body ?? "", "latin1"),
            headers: common.headers ?? {},
            connections,
            inFlight: 1,
            durationS,
            warmupS,
          })
        : runWrk({ ...common, connections, durationS, warmupS });
    const loaded = await run(REST_CONNECTIONS);
    const single = await run(1);
    // Allocations come from a run of their own: sampling slows the server.
    await server.request("alloc-start");
    const sampled = await run(REST_CONNECTIONS, Math.min(ALLOCATION_RUN_S, settings.durationS), 0);
    const heap = await server.request("alloc-stop");
    const calls = Math.max(1, sampled.succeeded);
    const allocations = { bytesPerCall: Math.round(Number(heap.bytes) / calls) };
    log(`rest: ${target.target}: ${loaded.requestsPerSecond} req/s loaded, p50 ${single.latency.p50Ms} ms alone`);
    const method = target.request.method ?? "GET";
    targets.push({ target: target.target, label: target.label, request: `${method} ${target.request.url}`, loaded, single, allocations });
  };

  if (wants(settings, "gateway")) {
    const gateway = await startChild("peers/gateway.ts");
    try {
      const port = gateway.ready.port as number;
      const restPath = `/v1/snapshots/${BENCH_SYMBOL_ID}`;
      gatewayRest = (await fetch(`http://127.0.0.1:${port}${restPath}`)).ok;
      if (gatewayRest) {
        await measure(gateway, { target: "gateway-rest", label: "gateway REST (JSON, HTTP/1.1)", request: { url: restPath } });
      }
      for (const target of connectTargets("gateway-connect", "gateway")) await measure(gateway, target);
    } finally {
      await gateway.stop();
    }
  }
  // The same calls on Connect's own handler, in the same run: what the lean lanes save.
  if (wants(settings, "gateway-connect-handler")) {
    const gateway = await startChild("peers/gateway.ts", { env: { CONNECT_LANE: "off", GRPC_WEB_LANE: "off" } });
    try {
      for (const target of connectTargets("connect-handler", "gateway, lanes off,")) await measure(gateway, target);
    } finally {
      await gateway.stop();
    }
  }
  if (wants(settings, "fastify")) {
    const fastify = await startChild("peers/fastify-json.ts");
    try {
      await measure(fastify, {
        target: "fastify",
        label: "plain Fastify JSON route",
        request: { url: `/v1/snapshots/${BENCH_SYMBOL_ID}` },
      });
    } finally {
      await fastify.stop();
    }
    // The same route over h2c: what one call in flight per HTTP/2
    // connection costs Node (and Fastify) before any gateway work.
    const fastifyH2 = await startChild("peers/fastify-json.ts", { env: { PEER_HTTP2: "1" } });
    try {
      await measure(fastifyH2, {
        target: "fastify-h2",
        label: "plain Fastify JSON route (HTTP/2)",
        request: { url: `/v1/snapshots/${BENCH_SYMBOL_ID}` },
        http2: true,
        h2Only: true,
      });
    } finally {
      await fastifyH2.stop();
    }
  }
  const rate = (target: string) => targets.find((t) => t.target === target)?.loaded.requestsPerSecond;
  return {
    gatewayRest,
    targets,
    ratios: {
      "gateway-rest/fastify": ratio(rate("gateway-rest"), rate("fastify")),
      "gateway-connect-json-h2/fastify-h2": ratio(rate("gateway-connect-json-h2"), rate("fastify-h2")),
      ...Object.fromEntries(
        ["json", "proto", "get", "json-h2", "grpc-web"].flatMap((kind) => [
          [`gateway-connect-${kind}/fastify`, ratio(rate(`gateway-connect-${kind}`), rate("fastify"))],
          [`connect-handler-${kind}/fastify`, ratio(rate(`connect-handler-${kind}`), rate("fastify"))],
          [`gateway-connect-${kind}/connect-handler-${kind}`, ratio(rate(`gateway-connect-${kind}`), rate(`connect-handler-${kind}`))],
        ]),
      ),
    },
  };
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
    const symbolId = (JSON.parse(text) as { symbolId?: unknown }).symbolId;
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
