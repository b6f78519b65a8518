import { startChild } from "../lib/child.js";
import type { BenchSettings } from "../lib/settings.js";
import type { LatencySummary } from "../lib/stats.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

interface Sizes {
  bytes: number;
  gzipBytes: number;
}

/**
 * SeedResults are the figures behind the migration guide's comparison
 * table, measured against the gateway.
 */
export interface SeedResults {
  /** False when the gateway had no REST routes: Connect JSON stood in for REST. */
  restRoutes: boolean;
  getSnapshot: { rest?: LatencySummary; connectJson: LatencySummary; grpc: LatencySummary };
  batch: { grpcOneCall: LatencySummary; connectJsonOneCall: LatencySummary; restSequential: LatencySummary; restConcurrent: LatencySummary };
  batchRounds: number;
  streaming: { updates: number; pollIntervalMs: number; push: LatencySummary; poll: LatencySummary };
  payload: { snapshot: { json: Sizes; protobuf: Sizes }; batch100: { json: Sizes; protobuf: Sizes } };
}

/** The guide's claims, verbatim, for the report to set beside ours. */
export const SEED_CLAIMS = {
  getSnapshot: { rest: "10ms", grpc: "1ms", improvement: "10x faster" },
  batch: { rest: "1000ms", grpc: "50ms", improvement: "20x faster" },
  streaming: { rest: "Polling (100ms)", grpc: "Push (<1ms)", improvement: "100x faster" },
  payload: { rest: "100%", grpc: "30%", improvement: "70% smaller" },
} as const;

/**
 * seedSuite starts the gateway and the seed client, each in its own
 * process, and lets the client measure the guide's table.
 */
export async function seedSuite(settings: BenchSettings, log: (line: string) => void): Promise<SeedResults> {
  const gateway = await startChild("peers/gateway.ts");
  try {
    const port = gateway.ready.port as number;
    const rest = (await fetch(`http://127.0.0.1:${port}/v1/snapshots/${BENCH_SYMBOL_ID}`)).ok;
    log(`seed: ${settings.iterations} calls per latency figure, REST routes ${rest ? "present" : "absent (Connect JSON stands in)"}`);
    const client = await startChild("clients/seed-client.ts");
    try {
      const { id: _id, type: _type, ...results } = await client.request("run", { port, iterations: settings.iterations, updates: settings.updates, rest });
      log("seed: done");
      return results as unknown as SeedResults;
    } finally {
      await client.stop();
    }
  } finally {
    await gateway.stop();
  }
}
