import * as http2 from "node:http2";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { startRedis } from "../../test/support/redis-server.js";
import type { FanoutClientInit } from "../clients/fanout-client.js";
import type { ResetClientInit } from "../clients/reset-client.js";
import type { SnapshotProberInit } from "../clients/snapshot-prober.js";
import type { TickProducerInit } from "../clients/tick-producer.js";
import { startChild, type Child } from "../lib/child.js";
import { mergeHistograms, summarizeHistogram } from "../lib/latency-histogram.js";
import { processRssBytes } from "../lib/process-rss.js";
import type { BenchSettings } from "../lib/settings.js";
import { round, type LatencySummary } from "../lib/stats.js";
import { BENCH_SYMBOL_ID, benchSymbolIds } from "../peers/bench-market.js";

/**
 * ReliabilityResults are the adversarial figures: stream gauges after
 * abrupt resets, healthy callers beside gzip bombs, readiness during a
 * frozen store, healthy subscribers beside stuck ones.
 */
export interface ReliabilityResults {
  resets: ResetRun[];
  bomb: BombRun;
  frozenStore: FrozenStoreRun;
  stuck: StuckRun;
  /** The machine's one-minute load average when the suite ended. */
  loadAverage: number;
}

/** ResetRun is one way of dropping streams, and how soon the gauges came back to zero. */
export interface ResetRun {
  how: "destroy" | "SIGKILL";
  sseStreams: number;
  grpcStreams: number;
  /** Gauges with the streams open: grpc_active_streams by protocol, stockify_hub_subscriptions. */
  open: Record<string, number>;
  /** Milliseconds from the reset until every gauge read 0, or undefined if they had not within the bound. */
  zeroAfterMs?: number;
  /** The gauges when the wait ended. */
  after: Record<string, number>;
  boundMs: number;
}

/** BombRun is GetSnapshot latency alone and while token-less gzip bombs arrive. */
export interface BombRun {
  bombs: number;
  compressedBytes: number;
  inflatedBytes: number;
  alone: LatencySummary;
  underBombs: LatencySummary;
  /** Bombs sent, by the grpc-status that answered them. */
  statuses: Record<string, number>;
  /** Milliseconds the slowest bomb waited for its answer. */
  refusedWithinMs: number;
  rssBytes: { before?: number; after?: number };
}

/** FrozenStoreRun is a gateway on a redis-server that is stopped (SIGSTOP) for a while. */
export interface FrozenStoreRun {
  freezeMs: number;
  /** Milliseconds /readyz kept answering 200 into the freeze (the freeze's length if it never stopped). */
  readyForMs: number;
  /** Milliseconds the first GetSnapshot after the freeze took to settle. */
  firstCallMs: number;
  /** Milliseconds a GetSnapshot took once the freeze was noticed. */
  callAfterMs: number;
}

/** StuckRun is healthy subscribers' latency alone and beside streams that never read. */
export interface StuckRun {
  healthyStreams: number;
  stuckStreams: number;
  ticksPerSecond: number;
  alone: { latency: LatencySummary; rssBytes?: number; bufferedBytes: number };
  withStuck: { latency: LatencySummary; rssBytes?: number; bufferedBytes: number; evictions: number; endedHealthyStreams: number };
  /** Alone again once the stuck ones are gone: with the first, the baseline the stuck run is compared with. */
  afterStuck: { latency: LatencySummary; rssBytes?: number; bufferedBytes: number };
  /** Healthy p99 beside the stuck ones over the mean of the two runs alone (target under 1.1). */
  p99Ratio: number;
}

const GAUGES = ["grpc_active_streams", "stockify_hub_subscriptions", "stockify_stream_buffered_bytes", "stockify_stream_budget_evictions_total"];

/**
 * scrapeGauges reads the gateway's /metrics and sums each gauge of interest,
 * grpc_active_streams per protocol.
 */
export async function scrapeGauges(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauges: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([-\d.e+]+)$/.exec(line);
    if (match === null || !GAUGES.includes(match[1]!)) continue;
    const protocol = /protocol="([^"]+)"/.exec(match[2] ?? "")?.[1];
    const key = match[1] === "grpc_active_streams" ? `grpc_active_streams{${protocol ?? ""}}` : match[1]!;
    gauges[key] = (gauges[key] ?? 0) + Number(match[3]);
  }
  return gauges;
}

const streamGaugesZero = (g: Record<string, number>) =>
  Object.entries(g).every(([k, v]) => v === 0 || !(k.startsWith("grpc_active_streams") || k === "stockify_hub_subscriptions"));

/**
 * reliabilitySuite runs the adversarial scenarios against the gateway, each
 * server and client in its own process.
 */
export async function reliabilitySuite(settings: BenchSettings, log: (line: string) => void): Promise<ReliabilityResults> {
  const r = settings.reliability;
  const resets: ResetRun[] = [];
  for (const how of ["destroy", "SIGKILL"] as const) {
    const run = await measureResets(r.resetStreams, how, r.gaugeBoundMs);
    log(`reliability: ${run.sseStreams} SSE + ${run.grpcStreams} gRPC streams dropped by ${how}: gauges at 0 after ${run.zeroAfterMs ?? `more than ${run.boundMs}`} ms`);
    resets.push(run);
  }
  const bomb = await measureBombs(settings, r.bombInflatedMiB);
  log(`reliability: GetSnapshot p50/p99 ${bomb.alone.p50Ms}/${bomb.alone.p99Ms} ms alone, ${bomb.underBombs.p50Ms}/${bomb.underBombs.p99Ms} ms under ${bomb.bombs} bombs at a time (grpc-status ${JSON.stringify(bomb.statuses)})`);
  const frozenStore = await measureFrozenStore(r.freezeS * 1000);
  log(`reliability: /readyz 200 for ${frozenStore.readyForMs} ms of a ${frozenStore.freezeMs} ms freeze; first call ${frozenStore.firstCallMs} ms, then ${frozenStore.callAfterMs} ms`);
  const stuck = await measureStuck(settings, r.healthyStreams, r.stuckStreams, r.ticksPerSecond);
  log(
    `reliability: ${stuck.healthyStreams} healthy streams p99 ${stuck.alone.latency.p99Ms} ms alone, ${stuck.withStuck.latency.p99Ms} ms beside ${stuck.stuckStreams} stuck, ` +
      `${stuck.afterStuck.latency.p99Ms} ms alone again: ${stuck.p99Ratio}× (target under 1.1×)`,
  );
  return { resets, bomb, frozenStore, stuck, loadAverage: round(loadavg()[0]!, 2) };
}

async function measureResets(streams: number, how: ResetRun["how"], boundMs: number): Promise<ResetRun> {
  const server = await startChild("peers/gateway.ts");
  const port = server.ready.port as number;
  let client: Child | undefined;
  try {
    const init: ResetClientInit = { port, streams, symbolId: BENCH_SYMBOL_ID };
    client = await startChild("clients/reset-client.ts", { init: { ...init } });
    const opened = await client.request("open");
    await sleep(100);
    const open = await scrapeGauges(port);
    const resetAt = performance.now();
    if (how === "destroy") await client.request("reset");
    else process.kill(client.pid, "SIGKILL");
    let after = await scrapeGauges(port);
    let zeroAfterMs: number | undefined;
    while (performance.now() - resetAt < boundMs) {
      if (streamGaugesZero(after)) {
        zeroAfterMs = Math.round(performance.now() - resetAt);
        break;
      }
      await sleep(10);
      after = await scrapeGauges(port);
    }
    return { how, sseStreams: opened.sse as number, grpcStreams: opened.grpc as number, open, zeroAfterMs, after, boundMs };
  } finally {
    await client?.stop();
    await server.stop();
  }
}

// A PublishTicks request whose one message inflates to about `mib` MiB of
// Tick {symbol_id: 13, ltp: 100.5}, each 11 bytes wrapped as field 1.
function bombBody(mib: number): { body: Buffer; inflated: number } {
  const tick = Buffer.from([0x0a, 11, 0x08, 13, 0x11, 0, 0, 0, 0, 0, 0x20, 0x59, 0x40]);
  const count = Math.floor((mib * 2 ** 20) / tick.length);
  const message = Buffer.alloc(tick.length * count);
  for (let i = 0; i < count; i++) tick.copy(message, i * tick.length);
  const compressed = gzipSync(message);
  const body = Buffer.alloc(5 + compressed.length);
  body[0] = 1;
  body.writeUInt32BE(compressed.length, 1);
  compressed.copy(body, 5);
  return { body, inflated: message.length };
}

function sendBomb(port: number, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/stockify.v1.MarketFeedService/PublishTicks",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-encoding": "gzip",
    });
    let status: string | undefined;
    stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
    stream.on("trailers", (h) => (status = h["grpc-status"] as string));
    stream.on("error", () => {});
    stream.resume();
    stream.on("close", () => {
      session.destroy();
      resolve(status ?? "none");
    });
    stream.end(body);
  });
}

async function measureBombs(settings: BenchSettings, inflatedMiB: number): Promise<BombRun> {
  const BOMBS = 4;
  const { body, inflated } = bombBody(inflatedMiB);
  const server = await startChild("peers/gateway.ts", { env: { BENCH_AUTH_TOKENS: "reader:read,writer:write", MAX_MESSAGE_BYTES: `${64 << 20}` } });
  const port = server.ready.port as number;
  let prober: Child | undefined;
  try {
    const init: SnapshotProberInit = { port, symbolId: BENCH_SYMBOL_ID, intervalMs: 5, token: "reader" };
    prober = await startChild("clients/snapshot-prober.ts", { init: { ...init } });
    await prober.request("start");
    await sleep(settings.durationS * 1000);
    const alone = (await prober.request("stop")).latency as LatencySummary;
    const rssBefore = processRssBytes(server.pid);
    await prober.request("start");
    // Four senders, each sending its next bomb once the last is answered, for as long as the caller alone was measured.
    const started = performance.now();
    const statuses: Record<string, number> = {};
    let refusedWithinMs = 0;
    await Promise.all(
      Array.from({ length: BOMBS }, async () => {
        do {
          const sent = performance.now();
          const status = await sendBomb(port, body);
          statuses[status] = (statuses[status] ?? 0) + 1;
          refusedWithinMs = Math.max(refusedWithinMs, Math.round(performance.now() - sent));
        } while (performance.now() - started < settings.durationS * 1000);
      }),
    );
    const underBombs = (await prober.request("stop")).latency as LatencySummary;
    return {
      bombs: BOMBS,
      compressedBytes: body.length - 5,
      inflatedBytes: inflated,
      alone,
      underBombs,
      statuses,
      refusedWithinMs,
      rssBytes: { before: rssBefore, after: processRssBytes(server.pid) },
    };
  } finally {
    await prober?.stop();
    await server.stop();
  }
}

async function measureFrozenStore(freezeMs: number): Promise<FrozenStoreRun> {
  const redis = await startRedis();
  let server: Child | undefined;
  try {
    server = await startChild("peers/gateway.ts", { env: { REDIS_URL: redis.url } });
    const port = server.ready.port as number;
    const base = `http://127.0.0.1:${port}`;
    const ready = async () => (await fetch(`${base}/readyz`)).status;
    const getSnapshot = async () => {
      const started = performance.now();
      await fetch(`${base}/stockify.v1.MarketDataService/GetSnapshot`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ symbolId: BENCH_SYMBOL_ID }),
        signal: AbortSignal.timeout(freezeMs + 5000),
      }).then((response) => response.arrayBuffer(), () => undefined);
      return Math.round(performance.now() - started);
    };
    while ((await ready()) !== 200) await sleep(20);
    await getSnapshot();
    redis.pause();
    const frozenAt = performance.now();
    try {
      const first = getSnapshot();
      while ((await ready()) === 200 && performance.now() - frozenAt < freezeMs) await sleep(10);
      const readyForMs = Math.round(performance.now() - frozenAt);
      const firstCallMs = await first;
      const callAfterMs = await getSnapshot();
      const rest = freezeMs - (performance.now() - frozenAt);
      if (rest > 0) await sleep(rest);
      return { freezeMs, readyForMs, firstCallMs, callAfterMs };
    } finally {
      redis.resume();
    }
  } finally {
    await server?.stop();
    await redis.stop();
  }
}

async function measureStuck(settings: BenchSettings, healthy: number, stuck: number, ticksPerSecond: number): Promise<StuckRun> {
  const symbolIds = benchSymbolIds().slice(0, Math.min(settings.feed.symbols, benchSymbolIds().length));
  const intervalMs = 10;
  const server = await startChild("peers/gateway.ts");
  const port = server.ready.port as number;
  const children: Child[] = [];
  try {
    const producerInit: TickProducerInit = { port, symbolIds, ticksPerCall: Math.max(1, Math.round((ticksPerSecond * intervalMs) / 1000)), intervalMs, maxInFlight: 10 };
    const producer = await startChild("clients/tick-producer.ts", { init: { ...producerInit } });
    children.push(producer);
    const healthyInit: FanoutClientInit = { port, streams: healthy, streamsPerSession: Math.min(100, healthy), symbolIds, stalledStreams: 0 };
    const subscribers = await startChild("clients/fanout-client.ts", { init: { ...healthyInit }, readyTimeoutMs: 120_000 });
    children.push(subscribers);
    await producer.request("begin");
    const measure = async () => {
      await sleep(settings.warmupS * 1000);
      await subscribers.request("start");
      await sleep(settings.durationS * 1000);
      const tally = await subscribers.request("stop");
      const gauges = await scrapeGauges(port);
      return {
        latency: summarizeHistogram(mergeHistograms([tally.histogram as string])),
        rssBytes: processRssBytes(server.pid),
        bufferedBytes: gauges.stockify_stream_buffered_bytes ?? 0,
        evictions: gauges.stockify_stream_budget_evictions_total ?? 0,
        endedHealthyStreams: tally.endedStreams as number,
      };
    };
    const { evictions: _e, endedHealthyStreams: _n, ...alone } = await measure();
    const stuckInit: FanoutClientInit = { port, streams: 0, streamsPerSession: 1, symbolIds, stalledStreams: stuck };
    const stuckClient = await startChild("clients/fanout-client.ts", { init: { ...stuckInit }, readyTimeoutMs: 120_000 });
    children.push(stuckClient);
    const withStuck = await measure();
    // Alone again: the machine's drift over the run shows in both baselines, not in the comparison.
    await stuckClient.request("close", {}, 10_000).catch(() => undefined);
    await stuckClient.stop();
    const { evictions: _e2, endedHealthyStreams: _n2, ...afterStuck } = await measure();
    await producer.request("end", {}, 10_000).catch(() => undefined);
    const baseline = (alone.latency.p99Ms + afterStuck.latency.p99Ms) / 2;
    const p99Ratio = round(withStuck.latency.p99Ms / baseline, 2);
    return { healthyStreams: healthy, stuckStreams: stuck, ticksPerSecond, alone, withStuck, afterStuck, p99Ratio };
  } finally {
    await Promise.all(children.map((c) => c.request("close", {}, 10_000).catch(() => undefined)));
    await Promise.all(children.map((c) => c.stop()));
    await server.stop();
  }
}
