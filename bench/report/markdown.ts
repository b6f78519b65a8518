import type { MachineInfo } from "../lib/machine.js";
import type { UnaryResults } from "../suites/unary.js";

/**
 * BenchResults is everything one run measured: the file latest.json holds
 * and the report is rendered from.
 */
export interface BenchResults {
  machine: MachineInfo;
  settings: { suites: string[]; quick: boolean; durationS: number; warmupS: number; only: string[] };
  unary?: UnaryResults;
  elapsedS?: number;
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
  if (results.unary !== undefined) out.push(...unarySection(results.unary));
  if (results.elapsedS !== undefined) out.push(`The run took ${results.elapsedS} s.`, "");
  return out.join("\n");
}

function unarySection(unary: UnaryResults): string[] {
  const lines = [
    `## gRPC unary: \`${unary.method}\` with h2load`,
    "",
    "| Peer | req/s (-c 16 -m 8) | p50 ms | p99 ms | req/s (1 in flight) | p50 ms | p99 ms | failed |",
    "|------|-------------------:|-------:|-------:|--------------------:|-------:|-------:|-------:|",
  ];
  for (const p of unary.peers) {
    lines.push(
      `| ${p.label} | ${fmt(p.loaded.requestsPerSecond, 0)} | ${fmt(p.loaded.latency.p50Ms)} | ${fmt(p.loaded.latency.p99Ms)} | ` +
        `${fmt(p.single.requestsPerSecond, 0)} | ${fmt(p.single.latency.p50Ms)} | ${fmt(p.single.latency.p99Ms)} | ${p.loaded.failed + p.single.failed} |`,
    );
  }
  lines.push("", `Ratios of loaded req/s: ${ratios(unary.ratios)}.`, "");
  return lines;
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
