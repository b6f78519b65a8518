import { create, toBinary } from "@bufbuild/protobuf";
import { GetSnapshotRequestSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild } from "../lib/child.js";
import { cpuPer, processCpuMs } from "../lib/process-cpu.js";
import { checkGetSnapshot } from "../lib/grpc-check.js";
import { grpcFrame } from "../lib/grpc-frame.js";
import { runH2load, type LoadResult } from "../lib/load-tools.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { ratio } from "../lib/stats.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

/** Connections and requests in flight per connection of the loaded runs. */
export const UNARY_LOAD = { connections: 16, inFlight: 8 } as const;

/** The gRPC peers, each a script under bench/peers. */
export const GRPC_PEERS = [
  { peer: "gateway", label: "gateway (lean gRPC lane, one port)", script: "peers/gateway.ts", env: {} },
  {
    peer: "gateway-connect",
    label: "gateway, lane off (connect-fastify's gRPC handler)",
    script: "peers/gateway.ts",
    env: { GRPC_LANE: "off" },
  },
  { peer: "grpc-js", label: "@grpc/grpc-js, same service code", script: "peers/grpc-js.ts", env: {} },
  { peer: "http2-ceiling", label: "bare node:http2, pre-encoded answer", script: "peers/http2-ceiling.ts", env: {} },
] as const;

/**
 * UnaryPeerResult is one peer's GetSnapshot figures: under load and with
 * one request in flight.
 */
export interface UnaryPeerResult {
  peer: string;
  label: string;
  loaded: LoadResult;
  single: LoadResult;
  /** Server CPU time per call of the loaded run, in microseconds (Linux only). */
  cpuUsPerCall?: number;
}

/**
 * UnaryResults compares gRPC unary throughput and latency across peers.
 */
export interface UnaryResults {
  method: string;
  peers: UnaryPeerResult[];
  /** Loaded req/s of one peer over another's, e.g. "gateway/grpc-js". */
  ratios: Record<string, number>;
}

/**
 * unarySuite runs h2load against each gRPC peer in turn, each in its own
 * process, with the same framed GetSnapshot request.
 */
export async function unarySuite(settings: BenchSettings, log: (line: string) => void): Promise<UnaryResults> {
  const method = MarketDataService.method.getSnapshot;
  const path = `/${MarketDataService.typeName}/${method.name}`;
  const body = grpcFrame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: BENCH_SYMBOL_ID })));
  const headers = { "content-type": "application/grpc", te: "trailers" };
  const peers: UnaryPeerResult[] = [];
  for (const { peer, label, script, env } of GRPC_PEERS) {
    if (!wants(settings, peer)) continue;
    const child = await startChild(script, { env });
    try {
      const port = child.ready.port as number;
      await checkGetSnapshot(port);
      const url = `http://127.0.0.1:${port}${path}`;
      const common = { url, body, headers, durationS: settings.durationS, warmupS: settings.warmupS };
      log(`unary: ${peer}, h2load -c ${UNARY_LOAD.connections} -m ${UNARY_LOAD.inFlight} for ${settings.durationS}s`);
      const cpuBefore = processCpuMs(child.pid);
      const loaded = await runH2load({ ...common, ...UNARY_LOAD });
      const cpuUsPerCall = cpuPer(cpuBefore, processCpuMs(child.pid), loaded.succeeded);
      log(`unary: ${peer}, h2load -c 1 -m 1 for ${settings.durationS}s`);
      const single = await runH2load({ ...common, connections: 1, inFlight: 1 });
      log(`unary: ${peer}: ${loaded.requestsPerSecond} req/s loaded, p50 ${single.latency.p50Ms} ms alone`);
      peers.push({ peer, label, loaded, single, cpuUsPerCall });
    } finally {
      await child.stop();
    }
  }
  const rate = (peer: string) => peers.find((p) => p.peer === peer)?.loaded.requestsPerSecond;
  // Calls per CPU-second: what throughput would be with a core to itself.
  const efficiency = (peer: string) => {
    const us = peers.find((p) => p.peer === peer)?.cpuUsPerCall;
    return us === undefined || us === 0 ? undefined : 1 / us;
  };
  return {
    method: `${MarketDataService.typeName}/${method.name}`,
    peers,
    ratios: {
      "gateway/grpc-js": ratio(rate("gateway"), rate("grpc-js")),
      "gateway/gateway-connect": ratio(rate("gateway"), rate("gateway-connect")),
      "calls per CPU-second, gateway/grpc-js": ratio(efficiency("gateway"), efficiency("grpc-js")),
      "calls per CPU-second, gateway/http2-ceiling": ratio(efficiency("gateway"), efficiency("http2-ceiling")),
      "gateway/http2-ceiling": ratio(rate("gateway"), rate("http2-ceiling")),
      "grpc-js/http2-ceiling": ratio(rate("grpc-js"), rate("http2-ceiling")),
    },
  };
}
