import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize, round, type LatencySummary } from "./stats.js";

/**
 * LoadResult is what one load-generator run measured.
 */
export interface LoadResult {
  tool: string;
  /** Connections, and requests in flight on each. */
  connections: number;
  inFlightPerConnection: number;
  durationS: number;
  requestsPerSecond: number;
  succeeded: number;
  failed: number;
  latency: LatencySummary;
}

/**
 * H2loadOptions describe one h2load run.
 */
export interface H2loadOptions {
  url: string;
  /** Request body (a framed gRPC request, for gRPC); empty for a GET. */
  body: Uint8Array;
  headers: Record<string, string>;
  connections: number;
  /** Requests in flight per connection (h2load -m). */
  inFlight: number;
  durationS: number;
  /** Seconds of load before measuring (a separate, discarded run). Default 1. */
  warmupS?: number;
  /** Called when the measured run starts, after the warm-up: where a server's CPU reading for the run belongs. */
  onMeasureStart?: () => void;
}

/**
 * runH2load runs h2load (nghttp2-client) and reads its summary and its
 * per-request log (for percentiles, which its summary lacks).
 */
export async function runH2load(options: H2loadOptions): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), "stockify-bench-"));
  try {
    const bodyFile = join(dir, "body.bin");
    const logFile = join(dir, "requests.log");
    await writeFile(bodyFile, options.body);
    const args = (durationS: number, log: string[]) => [
      "-c", String(options.connections),
      "-m", String(options.inFlight),
      "-t", "1",
      "-D", String(durationS),
      // No body: h2load sends a GET.
      ...(options.body.byteLength > 0 ? ["-d", bodyFile] : []),
      ...log,
      ...Object.entries(options.headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
      options.url,
    ];
    const warmupS = options.warmupS ?? 1;
    if (warmupS > 0) await run("h2load", args(warmupS, []));
    options.onMeasureStart?.();
    const output = await run("h2load", args(options.durationS, [`--log-file=${logFile}`]));
    const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(output);
    const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(output);
    if (finished === null || requests === null) throw new Error(`unexpected h2load output:\n${output}`);
    const log = await readFile(logFile, "utf8");
    const latencies: number[] = [];
    for (const line of log.split("\n")) {
      const columns = line.split("\t");
      if (columns.length >= 3 && columns[1] === "200") latencies.push(Number(columns[2]) / 1000);
    }
    return {
      tool: "h2load",
      connections: options.connections,
      inFlightPerConnection: options.inFlight,
      durationS: options.durationS,
      requestsPerSecond: round(Number(finished[2]), 1),
      succeeded: Number(requests[4]),
      failed: Number(requests[5]) + Number(requests[6]),
      latency: summarize(latencies),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * WrkOptions describe one wrk run (HTTP/1.1, one request in flight per
 * connection).
 */
export interface WrkOptions {
  url: string;
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  /** Seconds of load before measuring (a separate, discarded run). Default 1. */
  warmupS?: number;
  /** Called when the measured run starts, after the warm-up: where a server's CPU reading for the run belongs. */
  onMeasureStart?: () => void;
}

/**
 * runWrk runs wrk with a Lua script for the method, body and headers.
 */
export async function runWrk(options: WrkOptions): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), "stockify-bench-"));
  try {
    const script = join(dir, "request.lua");
    const lines = [`wrk.method = ${JSON.stringify(options.method ?? "GET")}`];
    if (options.body !== undefined) lines.push(`wrk.body = ${luaString(options.body)}`);
    for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
    await writeFile(script, `${lines.join("\n")}\n`);
    const base = ["-t", "1", "-c", String(options.connections), "-s", script];
    const warmupS = options.warmupS ?? 1;
    if (warmupS > 0) await run("wrk", [...base, "-d", `${warmupS}s`, options.url]);
    options.onMeasureStart?.();
    const output = await run("wrk", [...base, "-d", `${options.durationS}s`, "--latency", options.url]);
    const rate = /Requests\/sec:\s+([\d.]+)/.exec(output);
    const total = /(\d+) requests in/.exec(output);
    if (rate === null || total === null) throw new Error(`unexpected wrk output:\n${output}`);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
    const errors = socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0);
    const percentile = (p: string) => {
      const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(output);
      if (match === null) return Number.NaN;
      const value = Number(match[1]);
      return round(match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value);
    };
    const mean = /Latency\s+([\d.]+)(us|ms|s)/.exec(output);
    const meanMs = mean === null ? Number.NaN : round(mean[2] === "us" ? Number(mean[1]) / 1000 : mean[2] === "s" ? Number(mean[1]) * 1000 : Number(mean[1]));
    return {
      tool: "wrk",
      connections: options.connections,
      inFlightPerConnection: 1,
      durationS: options.durationS,
      requestsPerSecond: round(Number(rate[1]), 1),
      succeeded: Number(total[1]) - non2xx,
      failed: non2xx + errors,
      // wrk reports the 50/75/90/99th percentiles and the mean, not the max.
      latency: { count: Number(total[1]), p50Ms: percentile("50"), p90Ms: percentile("90"), p99Ms: percentile("99"), meanMs, maxMs: Number.NaN },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// wrk's LuaJIT knows no \u escapes, which JSON.stringify writes for control
// characters (a protobuf or gRPC-Web body has them): every byte that is not
// printable ASCII goes in as a decimal escape, the one form Lua 5.1 reads.
function luaString(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "latin1")) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`;
  }
  return `"${out}"`;
}

/**
 * toolVersion returns the first line a tool prints about its version, or
 * "missing".
 */
export async function toolVersion(tool: string, flag: string): Promise<string> {
  try {
    return (await run(tool, [flag], true)).split("\n")[0]!.trim();
  } catch {
    return "missing";
  }
}

function run(command: string, args: string[], anyExit = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new Error(`${command} is not installed: install Debian's ${command === "h2load" ? "nghttp2-client" : command}, or run .ci/run, which installs it`)
          : error,
      ),
    );
    child.on("close", (code) => {
      if (code === 0 || anyExit) resolve(output);
      else reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}
