import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild } from "../lib/child.js";
import { runWrk, type LoadResult, type WrkOptions } from "../lib/load-tools.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { ratio } from "../lib/stats.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

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
}

/**
 * RestResults compares JSON over HTTP/1.1: the gateway's REST routes (when
 * the gateway has them) and Connect JSON against a plain Fastify route.
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
}

/**
 * restSuite runs wrk against the gateway's JSON paths and the plain Fastify
 * peer, each server in its own process.
 */
export async function restSuite(settings: BenchSettings, log: (line: string) => void): Promise<RestResults> {
  const targets: RestTargetResult[] = [];
  let gatewayRest = false;
  const measure = async (port: number, target: Target) => {
    const url = `http://127.0.0.1:${port}${target.request.url}`;
    await checkJson({ ...target.request, url });
    const common = { ...target.request, url, durationS: settings.durationS, warmupS: settings.warmupS };
    log(`rest: ${target.target}, wrk -c ${REST_CONNECTIONS} and -c 1 for ${settings.durationS}s each`);
    const loaded = await runWrk({ ...common, connections: REST_CONNECTIONS });
    const single = await runWrk({ ...common, connections: 1 });
    log(`rest: ${target.target}: ${loaded.requestsPerSecond} req/s loaded, p50 ${single.latency.p50Ms} ms alone`);
    const method = target.request.method ?? "GET";
    targets.push({ target: target.target, label: target.label, request: `${method} ${target.request.url}`, loaded, single });
  };

  if (wants(settings, "gateway")) {
    const gateway = await startChild("peers/gateway.ts");
    try {
      const port = gateway.ready.port as number;
      const restPath = `/v1/snapshots/${BENCH_SYMBOL_ID}`;
      gatewayRest = (await fetch(`http://127.0.0.1:${port}${restPath}`)).ok;
      if (gatewayRest) {
        await measure(port, { target: "gateway-rest", label: "gateway REST (JSON, HTTP/1.1)", request: { url: restPath } });
      }
      await measure(port, {
        target: "gateway-connect-json",
        label: "gateway Connect JSON (HTTP/1.1)",
        request: {
          url: `/${MarketDataService.typeName}/${MarketDataService.method.getSnapshot.name}`,
          method: "POST",
          body: JSON.stringify({ symbolId: BENCH_SYMBOL_ID }),
          headers: { "content-type": "application/json" },
        },
      });
    } finally {
      await gateway.stop();
    }
  }
  if (wants(settings, "fastify")) {
    const fastify = await startChild("peers/fastify-json.ts");
    try {
      await measure(fastify.ready.port as number, {
        target: "fastify",
        label: "plain Fastify JSON route",
        request: { url: `/v1/snapshots/${BENCH_SYMBOL_ID}` },
      });
    } finally {
      await fastify.stop();
    }
  }
  const rate = (target: string) => targets.find((t) => t.target === target)?.loaded.requestsPerSecond;
  return {
    gatewayRest,
    targets,
    ratios: {
      "gateway-rest/fastify": ratio(rate("gateway-rest"), rate("fastify")),
      "gateway-connect-json/fastify": ratio(rate("gateway-connect-json"), rate("fastify")),
    },
  };
}

async function checkJson(request: Target["request"]): Promise<void> {
  const response = await fetch(request.url, { method: request.method ?? "GET", headers: request.headers, body: request.body });
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
