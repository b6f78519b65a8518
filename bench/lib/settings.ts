import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The bench's suites, in the order a run takes them. */
export const SUITES = ["unary", "rest", "seed", "streaming", "reliability", "history"] as const;

// History starts a PostgreSQL server of its own: it runs when named.
const DEFAULT_SUITES = SUITES.filter((suite) => suite !== "history");

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
  /**
   * Rounds of the unary and rest suites' loaded runs (BENCH_ROUNDS,
   * --rounds): every target is measured once per round, and ratios are
   * the median of the rounds' ratios. Default 3, 1 with --quick.
   */
  rounds: number;
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
  /** The external feed's scenario sizes (--feed-*, BENCH_FEED_*); see FeedSettings. */
  feed: FeedSettings;
  /** The reliability suite's sizes (--reliability-*, BENCH_RELIABILITY_*); see ReliabilitySettings. */
  reliability: ReliabilitySettings;
  /** The history suite's sizes (--history-*, BENCH_HISTORY_*); see HistorySettings. */
  history: HistorySettings;
  /** Directory of results (BENCH_OUT, --out). Default bench/results. */
  outDir: string;
}

/**
 * HistorySettings size the history suite.
 */
export interface HistorySettings {
  /** Live streams beside the ingest. Default 100. */
  streams: number;
  /** Symbols the producer feeds and each stream follows. Default 100. */
  symbols: number;
  /** Ticks per second the producer sends while history is written. Default 50,000. */
  ticksPerSecond: number;
  /** Calls per query latency figure. Default 200. */
  queries: number;
  /** Ticks each embedded candidate ingests. Default 300,000 (50 symbols, one day). */
  embeddedTicks: number;
}

/**
 * ReliabilitySettings size the reliability suite's adversarial scenarios.
 */
export interface ReliabilitySettings {
  /** SSE streams, and as many gRPC streams, dropped abruptly. Default 500. */
  resetStreams: number;
  /** Milliseconds the stream gauges are given to come back to 0. Default 5000. */
  gaugeBoundMs: number;
  /** MiB each gzip bomb inflates to. Default 45. */
  bombInflatedMiB: number;
  /** Seconds the store is frozen. Default 6. */
  freezeS: number;
  /** Healthy subscribers beside the stuck ones. Default 100. */
  healthyStreams: number;
  /** Subscribers that never read. Default 500. */
  stuckStreams: number;
  /** Ticks per second of the external feed the subscribers hear. Default 1000. */
  ticksPerSecond: number;
}

/**
 * FeedSettings size the external-feed scenario of the streaming suite: a
 * producer process calling PublishTicks, subscriber processes holding
 * streams. The defaults are the scenario as users run it.
 */
export interface FeedSettings {
  /** Rows to run, of a to e (--feed-rows a,c). Default all. */
  rows: string[];
  /** Streams of rows a, b and c (one of them stalled in c). Default 1000. */
  streams: number;
  /** Streams of the light-load row d. Default 100. */
  lightStreams: number;
  /** Symbols every stream subscribes to and the producer cycles through. Default 100. */
  symbols: number;
  /** Ticks per second of row a; row b sends twice as many. Default 1000. */
  ticksPerSecond: number;
  /** Ticks per second of the light-load row d. Default 100. */
  lightTicksPerSecond: number;
  /** Ticks per second of the one-subscriber row e, as much as a paced producer sends. Default 100000. */
  singleTicksPerSecond: number;
  /** Streams on one HTTP/2 connection. Default 100. */
  streamsPerConnection: number;
  /** Resident memory, in MiB, past which a peer is stopped rather than let grow. Default 3072. */
  rssLimitMiB: number;
}

/** The external feed's rows, in the order a run takes them. */
export const FEED_ROWS = ["a", "b", "c", "d", "e"] as const;

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
      rounds: { type: "string", default: env.BENCH_ROUNDS },
      only: { type: "string", default: env.BENCH_ONLY },
      subscribers: { type: "string", default: env.BENCH_SUBSCRIBERS },
      "idle-streams": { type: "string", default: env.BENCH_IDLE_STREAMS },
      "client-processes": { type: "string", default: env.BENCH_CLIENT_PROCESSES },
      iterations: { type: "string", default: env.BENCH_ITERATIONS },
      updates: { type: "string", default: env.BENCH_UPDATES },
      "feed-rows": { type: "string", default: env.BENCH_FEED_ROWS },
      "feed-streams": { type: "string", default: env.BENCH_FEED_STREAMS },
      "feed-light-streams": { type: "string", default: env.BENCH_FEED_LIGHT_STREAMS },
      "feed-symbols": { type: "string", default: env.BENCH_FEED_SYMBOLS },
      "feed-ticks": { type: "string", default: env.BENCH_FEED_TICKS },
      "feed-light-ticks": { type: "string", default: env.BENCH_FEED_LIGHT_TICKS },
      "feed-single-ticks": { type: "string", default: env.BENCH_FEED_SINGLE_TICKS },
      "feed-streams-per-connection": { type: "string", default: env.BENCH_FEED_STREAMS_PER_CONNECTION },
      "feed-rss-limit": { type: "string", default: env.BENCH_FEED_RSS_LIMIT_MIB },
      "reliability-streams": { type: "string", default: env.BENCH_RELIABILITY_STREAMS },
      "reliability-gauge-bound": { type: "string", default: env.BENCH_RELIABILITY_GAUGE_BOUND_MS },
      "reliability-bomb-mib": { type: "string", default: env.BENCH_RELIABILITY_BOMB_MIB },
      "reliability-freeze": { type: "string", default: env.BENCH_RELIABILITY_FREEZE },
      "reliability-healthy": { type: "string", default: env.BENCH_RELIABILITY_HEALTHY },
      "reliability-stuck": { type: "string", default: env.BENCH_RELIABILITY_STUCK },
      "reliability-ticks": { type: "string", default: env.BENCH_RELIABILITY_TICKS },
      "history-streams": { type: "string", default: env.BENCH_HISTORY_STREAMS },
      "history-symbols": { type: "string", default: env.BENCH_HISTORY_SYMBOLS },
      "history-ticks": { type: "string", default: env.BENCH_HISTORY_TICKS },
      "history-queries": { type: "string", default: env.BENCH_HISTORY_QUERIES },
      "history-embedded-ticks": { type: "string", default: env.BENCH_HISTORY_EMBEDDED_TICKS },
      out: { type: "string", default: env.BENCH_OUT },
    },
  });
  for (const name of positionals) {
    if (!(SUITES as readonly string[]).includes(name)) throw new Error(`unknown suite "${name}"; the suites are ${SUITES.join(", ")}`);
  }
  const quick = values.quick === true;
  const feedRows = values["feed-rows"] === undefined || values["feed-rows"] === "" ? [...FEED_ROWS] : values["feed-rows"].split(",");
  for (const row of feedRows) {
    if (!(FEED_ROWS as readonly string[]).includes(row)) throw new Error(`unknown feed row "${row}"; the rows are ${FEED_ROWS.join(", ")}`);
  }
  return {
    suites: positionals.length === 0 ? [...DEFAULT_SUITES] : SUITES.filter((s) => positionals.includes(s)),
    quick,
    durationS: positive("duration", values.duration, quick ? 3 : 10),
    warmupS: positive("warmup", values.warmup, quick ? 1 : 2, true),
    rounds: Math.ceil(positive("rounds", values.rounds, quick ? 1 : 3)),
    only: values.only === undefined || values.only === "" ? [] : values.only.split(","),
    subscribers: values.subscribers === undefined ? [1, 100, 1000] : values.subscribers.split(",").map((v) => positive("subscribers", v, 1)),
    idleStreams: positive("idle-streams", values["idle-streams"], 10_000),
    clientProcesses: positive("client-processes", values["client-processes"], 2),
    iterations: positive("iterations", values.iterations, quick ? 300 : 2000),
    updates: positive("updates", values.updates, quick ? 30 : 100),
    feed: {
      rows: FEED_ROWS.filter((row) => feedRows.includes(row)),
      streams: positive("feed-streams", values["feed-streams"], 1000),
      lightStreams: positive("feed-light-streams", values["feed-light-streams"], 100),
      symbols: positive("feed-symbols", values["feed-symbols"], 100),
      ticksPerSecond: positive("feed-ticks", values["feed-ticks"], 1000),
      lightTicksPerSecond: positive("feed-light-ticks", values["feed-light-ticks"], 100),
      singleTicksPerSecond: positive("feed-single-ticks", values["feed-single-ticks"], 100_000),
      streamsPerConnection: positive("feed-streams-per-connection", values["feed-streams-per-connection"], 100),
      rssLimitMiB: positive("feed-rss-limit", values["feed-rss-limit"], 3072),
    },
    reliability: {
      resetStreams: positive("reliability-streams", values["reliability-streams"], 500),
      gaugeBoundMs: positive("reliability-gauge-bound", values["reliability-gauge-bound"], 5000),
      bombInflatedMiB: positive("reliability-bomb-mib", values["reliability-bomb-mib"], 45),
      freezeS: positive("reliability-freeze", values["reliability-freeze"], 6),
      healthyStreams: positive("reliability-healthy", values["reliability-healthy"], 100),
      stuckStreams: positive("reliability-stuck", values["reliability-stuck"], 500),
      ticksPerSecond: positive("reliability-ticks", values["reliability-ticks"], 1000),
    },
    history: {
      streams: positive("history-streams", values["history-streams"], 100),
      symbols: positive("history-symbols", values["history-symbols"], 100),
      ticksPerSecond: positive("history-ticks", values["history-ticks"], 50_000),
      queries: positive("history-queries", values["history-queries"], 200),
      embeddedTicks: positive("history-embedded-ticks", values["history-embedded-ticks"], 300_000),
    },
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
