import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The bench's suites, in the order a full run takes them. */
export const SUITES = ["unary", "rest", "seed", "streaming"] as const;

/** SuiteName names one suite. */
export type SuiteName = (typeof SUITES)[number];

/**
 * BenchSettings are one run's knobs, from flags and environment variables.
 */
export interface BenchSettings {
  suites: SuiteName[];
  quick: boolean;
  /** Seconds each load measurement lasts (BENCH_DURATION, --duration). Default 10, 3 with --quick. */
  durationS: number;
  /** Seconds of load before each measurement. Default 2, 1 with --quick. */
  warmupS: number;
  /** Peers to run (--only gateway,grpc-js); empty means all. */
  only: string[];
  /** Subscriber counts of the streaming throughput runs. Default 1, 100, 1000. */
  subscribers: number[];
  /** Streams held open for the memory measurement. Default 10000. */
  idleStreams: number;
  /** Client processes the lean streaming client is spread over. Default 2. */
  clientProcesses: number;
  /** Calls per latency figure of the seed table. Default 2000, 300 with --quick. */
  iterations: number;
  /** Updates published for the push-versus-poll figure. Default 100, 30 with --quick. */
  updates: number;
  /** Directory of results (BENCH_OUT, --out). Default bench/results. */
  outDir: string;
}

/**
 * parseSettings reads the command line (`npm run bench -- unary --quick`)
 * and BENCH_* environment variables.
 */
export function parseSettings(argv: string[], env: Record<string, string | undefined> = process.env): BenchSettings {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: env.BENCH_QUICK === "1" },
      duration: { type: "string", default: env.BENCH_DURATION },
      warmup: { type: "string", default: env.BENCH_WARMUP },
      only: { type: "string", default: env.BENCH_ONLY },
      subscribers: { type: "string", default: env.BENCH_SUBSCRIBERS },
      "idle-streams": { type: "string", default: env.BENCH_IDLE_STREAMS },
      "client-processes": { type: "string", default: env.BENCH_CLIENT_PROCESSES },
      iterations: { type: "string", default: env.BENCH_ITERATIONS },
      updates: { type: "string", default: env.BENCH_UPDATES },
      out: { type: "string", default: env.BENCH_OUT },
    },
  });
  for (const name of positionals) {
    if (!(SUITES as readonly string[]).includes(name)) throw new Error(`unknown suite "${name}"; the suites are ${SUITES.join(", ")}`);
  }
  const quick = values.quick === true;
  return {
    suites: positionals.length === 0 ? [...SUITES] : SUITES.filter((s) => positionals.includes(s)),
    quick,
    durationS: positive("duration", values.duration, quick ? 3 : 10),
    warmupS: positive("warmup", values.warmup, quick ? 1 : 2, true),
    only: values.only === undefined || values.only === "" ? [] : values.only.split(","),
    subscribers: values.subscribers === undefined ? [1, 100, 1000] : values.subscribers.split(",").map((v) => positive("subscribers", v, 1)),
    idleStreams: positive("idle-streams", values["idle-streams"], 10_000),
    clientProcesses: positive("client-processes", values["client-processes"], 2),
    iterations: positive("iterations", values.iterations, quick ? 300 : 2000),
    updates: positive("updates", values.updates, quick ? 30 : 100),
    outDir: values.out ?? fileURLToPath(new URL("../results", import.meta.url)),
  };
}

/** wants says whether a run includes a peer (--only). */
export function wants(settings: BenchSettings, peer: string): boolean {
  return settings.only.length === 0 || settings.only.includes(peer);
}

function positive(name: string, raw: string | undefined, fallback: number, zeroAllowed = false): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) throw new Error(`--${name} must be a positive number, got "${raw}"`);
  return value;
}
