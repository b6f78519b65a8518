// npm run bench -- [unary|rest|seed|streaming|reliability|history ...] [--quick] [--duration S] [--rounds N]
//   [--only gateway,grpc-js] [--subscribers 1,100,1000] [--idle-streams N]
//   [--feed-rows a,b,c,d,e] [--feed-streams 1000] [--feed-ticks 1000] ...
//   (the external-feed scenario's sizes: see FeedSettings in lib/settings.ts)
// Runs the suites, each server and load generator in its own process, and
// writes bench/results/latest.json, report.md and chart.svg.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { machineInfo } from "./lib/machine.js";
import { parseSettings } from "./lib/settings.js";
import { renderReport, type BenchResults } from "./report/markdown.js";
import { renderChart } from "./report/svg-chart.js";
import { reliabilitySuite } from "./suites/reliability.js";
import { restSuite } from "./suites/rest.js";
import { seedSuite } from "./suites/seed.js";
import { streamingSuite } from "./suites/streaming.js";
import { unarySuite } from "./suites/unary.js";

const settings = parseSettings(process.argv.slice(2));
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const started = Date.now();
const results: BenchResults = {
  machine: await machineInfo(),
  settings: {
    suites: settings.suites,
    quick: settings.quick,
    durationS: settings.durationS,
    warmupS: settings.warmupS,
    rounds: settings.rounds,
    only: settings.only,
  },
};
log(`node ${results.machine.node} on ${results.machine.cpuModel} x${results.machine.cores}, load ${results.machine.loadAverage.join(" ")}`);
results.suiteSeconds = {};
for (const suite of settings.suites) {
  const suiteStarted = Date.now();
  if (suite === "unary") results.unary = await unarySuite(settings, log);
  if (suite === "rest") results.rest = await restSuite(settings, log);
  if (suite === "seed") results.seed = await seedSuite(settings, log);
  if (suite === "streaming") results.streaming = await streamingSuite(settings, log);
  if (suite === "reliability") results.reliability = await reliabilitySuite(settings, log);
  // Loaded only when asked for: it brings a PostgreSQL client and server.
  if (suite === "history") results.history = await (await import("./suites/history.js")).historySuite(settings, log);
  results.suiteSeconds[suite] = Math.round((Date.now() - suiteStarted) / 1000);
  log(`${suite}: ${results.suiteSeconds[suite]}s`);
}
results.elapsedS = Math.round((Date.now() - started) / 1000);

await mkdir(settings.outDir, { recursive: true });
const report = renderReport(results);
await writeFile(join(settings.outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
await writeFile(join(settings.outDir, "chart.svg"), renderChart(results));
await writeFile(join(settings.outDir, "report.md"), report);
process.stdout.write(report);
log(`done in ${results.elapsedS}s; results in ${settings.outDir}`);
