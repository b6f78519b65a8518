import { create, toBinary } from "@bufbuild/protobuf";
import { GetSnapshotRequestSchema, MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild, type Child } from "../lib/child.js";
import { cpuPer, processCpuMs } from "../lib/process-cpu.js";
import { checkGetSnapshot } from "../lib/grpc-check.js";
import { grpcFrame } from "../lib/grpc-frame.js";
import { runH2load, type LoadResult } from "../lib/load-tools.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { interleavedRounds, median, medianIndex, relativeScores, roundRatio, splitRatios, type RoundRatio } from "../lib/rounds.js";
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
  /** The loaded run of the median round (by req/s). */
  loaded: LoadResult;
  /** Loaded req/s of every run, in order: one per round, or for grpc-js one before the first peer and one after each. */
  rounds: number[];
  single: LoadResult;
  /** Server CPU time per call of the loaded runs, in microseconds: the median of the rounds (Linux only). */
  cpuUsPerCall?: number;
  /** Heap allocations per call, from V8's sampling heap profiler over a short loaded run of its own. */
  allocations: { bytesPerCall: number };
}

/** Most seconds of the run whose heap allocations are sampled (no longer than a measurement). */
const ALLOCATION_RUN_S = 2;

/**
 * UnaryResults compares gRPC unary throughput and latency across peers.
 */
export interface UnaryResults {
  method: string;
  peers: UnaryPeerResult[];
  /**
   * Loaded req/s of one peer over another's, e.g. "gateway/grpc-js": the
   * median over the rounds, each peer's figure taken over the mean of the
   * grpc-js runs either side of it.
   */
  ratios: Record<string, number>;
  /** The lowest and highest round of each ratio. */
  spread: Record<string, [min: number, max: number]>;
}

/** The peer every other is measured beside, round by round. */
const REFERENCE_PEER = "grpc-js";

/**
 * unarySuite starts every gRPC peer, each in its own process, and runs
 * h2load against them with the same framed GetSnapshot request: the
 * loaded runs in rounds, grpc-js measured between every two others (so
 * that each is compared with the grpc-js runs seconds either side of it),
 * then one run of each with one call in flight.
 */
export async function unarySuite(settings: BenchSettings, log: (line: string) => void): Promise<UnaryResults> {
  const method = MarketDataService.method.getSnapshot;
  const path = `/${MarketDataService.typeName}/${method.name}`;
  const body = grpcFrame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: BENCH_SYMBOL_ID })));
  const headers = { "content-type": "application/grpc", te: "trailers" };
  const started: { peer: (typeof GRPC_PEERS)[number]; child: Child; url: string }[] = [];
  try {
    for (const peer of GRPC_PEERS) {
      if (!wants(settings, peer.peer)) continue;
      const child = await startChild(peer.script, { env: peer.env });
      started.push({ peer, child, url: `http://127.0.0.1:${child.ready.port as number}${path}` });
      await checkGetSnapshot(child.ready.port as number);
    }
    const common = { body, headers, durationS: settings.durationS, warmupS: settings.warmupS };
    const reference = started.find((s) => s.peer.peer === REFERENCE_PEER);
    const others = started.filter((s) => s !== reference);
    const measured = await interleavedRounds(reference, others, settings.rounds, async ({ peer, child, url }, round) => {
      log(`unary: round ${round + 1} of ${settings.rounds}, ${peer.peer}, h2load -c ${UNARY_LOAD.connections} -m ${UNARY_LOAD.inFlight} for ${settings.durationS}s`);
      let cpuBefore: number | undefined;
      const loaded = await runH2load({ ...common, url, ...UNARY_LOAD, onMeasureStart: () => (cpuBefore = processCpuMs(child.pid)) });
      return { loaded, cpuUsPerCall: cpuPer(cpuBefore, processCpuMs(child.pid), loaded.succeeded) };
    });
    const runsOf = (entry: (typeof started)[number]) =>
      entry === reference ? measured.referenceRuns : measured.runs[others.indexOf(entry)]!.map((r) => r.run);
    const peers: UnaryPeerResult[] = [];
    for (const entry of started) {
      const { peer, url } = entry;
      log(`unary: ${peer.peer}, h2load -c 1 -m 1 for ${settings.durationS}s, then the heap sampled`);
      const single = await runH2load({ ...common, url, connections: 1, inFlight: 1 });
      // Allocations come from a run of their own: sampling slows the server.
      await entry.child.request("alloc-start");
      const sampled = await runH2load({ ...common, url, ...UNARY_LOAD, durationS: Math.min(ALLOCATION_RUN_S, settings.durationS), warmupS: 0 });
      const heap = await entry.child.request("alloc-stop");
      const allocations = { bytesPerCall: Math.round(Number(heap.bytes) / Math.max(1, sampled.succeeded)) };
      const runs = runsOf(entry);
      const rounds = runs.map((run) => run.loaded.requestsPerSecond);
      const cpu = runs.map((run) => run.cpuUsPerCall).filter((us): us is number => us !== undefined);
      const loaded = runs[medianIndex(rounds)]!.loaded;
      log(`unary: ${peer.peer}: ${rounds.join(", ")} req/s loaded, p50 ${single.latency.p50Ms} ms alone`);
      peers.push({ peer: peer.peer, label: peer.label, loaded, rounds, single, cpuUsPerCall: cpu.length === 0 ? undefined : median(cpu), allocations });
    }
    // Each peer's figure over grpc-js's either side of it, round by round;
    // grpc-js scores 1. Calls per CPU-second are what throughput would be
    // with a core to itself.
    type Run = (typeof measured.referenceRuns)[number];
    const rate = (run: Run) => run.loaded.requestsPerSecond;
    const efficiency = (run: Run) => (run.cpuUsPerCall === undefined || run.cpuUsPerCall === 0 ? Number.NaN : 1 / run.cpuUsPerCall);
    const scores = (name: string, figure: (run: Run) => number) => {
      if (name === REFERENCE_PEER) return reference === undefined ? undefined : Array.from({ length: settings.rounds }, () => 1);
      const i = others.findIndex((s) => s.peer.peer === name);
      return i < 0 ? undefined : relativeScores(measured.runs[i]!, figure);
    };
    const byRate = (a: string, b: string) => roundRatio(scores(a, rate), scores(b, rate));
    const byCpu = (a: string, b: string) => roundRatio(scores(a, efficiency), scores(b, efficiency));
    const all: Record<string, RoundRatio> = {
      "gateway/grpc-js": byRate("gateway", "grpc-js"),
      "gateway/gateway-connect": byRate("gateway", "gateway-connect"),
      "calls per CPU-second, gateway/grpc-js": byCpu("gateway", "grpc-js"),
      "calls per CPU-second, gateway/http2-ceiling": byCpu("gateway", "http2-ceiling"),
      "gateway/http2-ceiling": byRate("gateway", "http2-ceiling"),
      "grpc-js/http2-ceiling": byRate("grpc-js", "http2-ceiling"),
    };
    return { method: `${MarketDataService.typeName}/${method.name}`, peers, ...splitRatios(all) };
  } finally {
    await Promise.all(started.map(({ child }) => child.stop()));
  }
}
