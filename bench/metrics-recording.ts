/**
 * Measures what recording one finished call costs: prom-client's
 * pre-created label children (a histogram observe and a counter inc, as
 * the seed's metrics would be kept) against the gateway's call slot, which
 * the metrics read at scrape time.
 *
 *   npx node --import tsx bench/metrics-recording.ts
 */
import { Counter, Histogram, Registry } from "prom-client";
import { CallSlot, DURATION_BUCKETS } from "../src/pipeline/gateway-metrics.js";

const METHOD = "stockify.v1.MarketDataService/GetSnapshot";
const CALLS = 2_000_000;

const registry = new Registry();
const histogram = new Histogram({
  name: "duration",
  help: "call duration",
  labelNames: ["method", "protocol"],
  buckets: [...DURATION_BUCKETS],
  registers: [registry],
});
const counter = new Counter({ name: "calls", help: "calls", labelNames: ["method", "status", "protocol"], registers: [registry] });
const observe = histogram.labels({ method: METHOD, protocol: "grpc" });
const count = counter.labels({ method: METHOD, status: "OK", protocol: "grpc" });
const slot = new CallSlot(METHOD, "grpc", false);

function nsPerCall(record: () => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) record();
  return Number(process.hrtime.bigint() - started) / CALLS;
}

for (let round = 1; round <= 3; round++) {
  const children = nsPerCall(() => {
    observe.observe(0.0007);
    count.inc();
  });
  const slots = nsPerCall(() => slot.finish(0, 0.0007));
  console.log(`round ${round}: prom-client label children ${children.toFixed(0)} ns/call, call slot ${slots.toFixed(0)} ns/call`);
}
