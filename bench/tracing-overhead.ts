// What OpenTelemetry tracing costs on the unary hot path: GetSnapshot over
// the lean gRPC lane under h2load, with tracing off (no OTEL_* variable:
// the default) and on (OTEL_EXPORTER_OTLP_ENDPOINT set, every call a
// sampled root span exported to an OTLP/HTTP endpoint this script runs and
// discards). Rounds alternate off and on so drift hits both alike.
//
//   node --import tsx bench/tracing-overhead.ts [--duration 5] [--rounds 2]
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { GetSnapshotRequestSchema, MarketDataService } from "../src/gen/stockify/v1/market_data_service_pb.js";
import { startChild } from "./lib/child.js";
import { checkGetSnapshot } from "./lib/grpc-check.js";
import { grpcFrame } from "./lib/grpc-frame.js";
import { runH2load, type LoadResult } from "./lib/load-tools.js";
import { BENCH_SYMBOL_ID } from "./peers/bench-market.js";
import { UNARY_LOAD } from "./suites/unary.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "5" }, rounds: { type: "string", default: "2" } } });
const durationS = Number(values.duration);
const rounds = Number(values.rounds);

let spansReceived = 0;
const collector = createServer((request, response) => {
  request.on("data", () => {});
  request.on("end", () => {
    spansReceived++;
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

const path = `/${MarketDataService.typeName}/${MarketDataService.method.getSnapshot.name}`;
const body = grpcFrame(toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: BENCH_SYMBOL_ID })));
const modes = { off: {}, on: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } } as const;
const results: Record<keyof typeof modes, LoadResult[]> = { off: [], on: [] };

for (let round = 0; round < rounds; round++) {
  for (const mode of ["off", "on"] as const) {
    const child = await startChild("peers/gateway.ts", { env: modes[mode] });
    try {
      const port = child.ready.port as number;
      await checkGetSnapshot(port);
      const result = await runH2load({
        url: `http://127.0.0.1:${port}${path}`,
        body,
        headers: { "content-type": "application/grpc", te: "trailers" },
        durationS,
        ...UNARY_LOAD,
      });
      results[mode].push(result);
      console.log(`round ${round + 1}, tracing ${mode}: ${result.requestsPerSecond} req/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms`);
    } finally {
      await child.stop();
    }
  }
}
collector.close();

const mean = (runs: LoadResult[], pick: (run: LoadResult) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
const offRate = mean(results.off, (run) => run.requestsPerSecond);
const onRate = mean(results.on, (run) => run.requestsPerSecond);
console.log(
  `GetSnapshot, h2load -c ${UNARY_LOAD.connections} -m ${UNARY_LOAD.inFlight}, ${durationS}s x ${rounds} rounds: ` +
    `off ${Math.round(offRate)} req/s, on ${Math.round(onRate)} req/s, on/off ${(onRate / offRate).toFixed(3)}; ` +
    `p50 off ${mean(results.off, (run) => run.latency.p50Ms).toFixed(3)} ms, on ${mean(results.on, (run) => run.latency.p50Ms).toFixed(3)} ms; ` +
    `${spansReceived} OTLP export requests received`,
);
