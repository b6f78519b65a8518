import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { FanoutClientInit } from "../clients/fanout-client.js";
import type { TickProducerInit } from "../clients/tick-producer.js";
import { startChild, type Child } from "../lib/child.js";
import { mergeHistograms, summarizeHistogram } from "../lib/latency-histogram.js";
import { processCpuMs } from "../lib/process-cpu.js";
import { processRssBytes, RssWatch } from "../lib/process-rss.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { ratio, round, summarize, type LatencySummary } from "../lib/stats.js";
import { benchSymbolIds } from "../peers/bench-market.js";

/** Milliseconds between two PublishTicks calls of the producer. */
export const FEED_INTERVAL_MS = 10;

// Gateway settings that shape streaming, from the README's configuration
// table: a run records any the environment sets (benchConfig passes them on).
const STREAMING_SETTINGS = [
  "STREAM_FLUSH_MS",
  "STREAM_BUFFER_SIZE",
  "SLOW_CONSUMER_POLICY",
  "HEARTBEAT_INTERVAL_MS",
  "GRPC_LANE",
  "MAX_CONCURRENT_STREAMS",
  "COMPRESSION",
  "REDIS_URL",
] as const;

// A tenth of a second of calls may wait for answers before the producer's
// schedule waits too: a real feed handler would buffer about that much.
const MAX_CALLS_IN_FLIGHT = 10;

/**
 * The external feed's peers: the gateway as it ships, and grpc-js with the
 * fan-out a grpc-js user would write (peers/naive-fanout.ts).
 */
export const FEED_PEERS = [
  { peer: "gateway", script: "peers/gateway.ts", env: {} },
  { peer: "grpc-js", script: "peers/grpc-js.ts", env: { BENCH_FANOUT: "naive" } },
] as const;

/** FeedRowId names a row of the scenario's table. */
export type FeedRowId = "a" | "b" | "c" | "d" | "e";

/**
 * FeedRow is one load of the scenario: how many streams, how many of them
 * stalled, how fast the producer sends.
 */
export interface FeedRow {
  id: FeedRowId;
  title: string;
  /** Streams that read. */
  streams: number;
  /** Streams that never read (row c). */
  stalledStreams: number;
  ticksPerSecond: number;
}

/**
 * FeedRun is one row measured on one peer.
 */
export interface FeedRun {
  row: FeedRowId;
  peer: string;
  streams: number;
  stalledStreams: number;
  symbols: number;
  clientProcesses: number;
  ticksPerCall: number;
  /** Ticks per second the producer's schedule asks for. */
  offeredTicksPerSecond: number;
  /** Ticks per second the producer sent while measuring. */
  sentTicksPerSecond: number;
  /** Sent ticks times the reading streams: what a server without conflation would deliver. */
  offeredMessagesPerSecond: number;
  /** Messages all reading streams together received per second. */
  deliveredPerSecond: number;
  /** Receive time minus exchange_time, every message delivered while measuring. */
  latency: LatencySummary;
  /** Times a stream saw a symbol's sequence skip ahead: conflation. */
  sequenceJumps: number;
  /** Updates the jumps skipped. */
  skippedUpdates: number;
  /** Times a stream saw a sequence at or below the previous one (never expected). */
  outOfOrder: number;
  /** Streams that ended during the run (they should not). */
  endedStreams: number;
  /** PublishTicks as the producer saw it while measuring. */
  publish: { calls: number; failed: number; waitedForInFlight: number; latency: LatencySummary };
  /** Cores the server process used while measuring (Linux only). */
  serverCores?: number;
  /** Server CPU time per delivered message, in microseconds (Linux only). */
  serverCpuUsPerMessage?: number;
  /** Server resident memory when measuring started and ended, and the most seen between. */
  rssBytes: { start?: number; end?: number; peak?: number };
  /** Cores each subscriber process used: near 1, the client and not the server may be the limit. */
  clientCores: number[];
  producerCores?: number;
  /** Bytes the stalled streams hold unread at the client. */
  stalledBytesBuffered: number;
  /** The machine's one-minute load average when measuring ended: the machine is shared. */
  loadAverage: number;
  /** Why the measurement failed, when it did. */
  error?: string;
}

/**
 * ExternalFeedResults are the scenario's figures, every row on every peer.
 */
export interface ExternalFeedResults {
  intervalMs: number;
  symbols: number;
  streamsPerConnection: number;
  /** Streaming settings the environment gave the gateway; empty means its defaults. */
  gatewaySettings: Record<string, string>;
  rows: FeedRow[];
  runs: FeedRun[];
  /** Delivered msg/s of the gateway over grpc-js, per row. */
  ratios: Record<string, number>;
}

/**
 * FEED_TARGETS are the figures the fan-out work aims at, for the report to
 * set beside the measured ones.
 */
export const FEED_TARGETS = {
  a: "≥ 1,000,000 msg/s delivered, p50 ≤ 5 ms, p99 ≤ 20 ms, gateway < 1 core",
  b: "p99 ≤ 100 ms with conflation; PublishTicks p99 ≤ 10 ms; RSS flat",
  c: "the others' p99 changes < 10%; the stalled one's memory bounded",
  d: "p50 ≤ 1 ms, p99 ≤ 5 ms",
  cpu: "≤ 0.7 µs",
  e: "≥ 1.5×",
  ratio: "≥ 10× delivered msg/s",
} as const;

/**
 * feedRows lists the rows a run's settings ask for.
 */
export function feedRows(settings: BenchSettings): FeedRow[] {
  const f = settings.feed;
  const n = (value: number) => value.toLocaleString("en-US");
  const all: FeedRow[] = [
    { id: "a", title: `${n(f.streams)} streams × ${n(f.symbols)} symbols, ${n(f.ticksPerSecond)} ticks/s`, streams: f.streams, stalledStreams: 0, ticksPerSecond: f.ticksPerSecond },
    { id: "b", title: `the same at 2× (${n(2 * f.ticksPerSecond)} ticks/s)`, streams: f.streams, stalledStreams: 0, ticksPerSecond: 2 * f.ticksPerSecond },
    { id: "c", title: `one stalled stream among ${n(f.streams)}, ${n(f.ticksPerSecond)} ticks/s`, streams: f.streams - 1, stalledStreams: 1, ticksPerSecond: f.ticksPerSecond },
    {
      id: "d",
      title: `${n(f.lightStreams)} streams × ${n(f.symbols)} symbols, ${n(f.lightTicksPerSecond)} ticks/s (light load)`,
      streams: f.lightStreams,
      stalledStreams: 0,
      ticksPerSecond: f.lightTicksPerSecond,
    },
    { id: "e", title: `1 stream × ${n(f.symbols)} symbols, ${n(f.singleTicksPerSecond)} ticks/s scheduled`, streams: 1, stalledStreams: 0, ticksPerSecond: f.singleTicksPerSecond },
  ];
  return all.filter((row) => f.rows.includes(row.id));
}

/**
 * externalFeedSuite runs the deployment users run, row by row and peer by
 * peer, each run on a fresh server: the server in its own process with no
 * simulator, a producer process calling PublishTicks on a schedule, and
 * subscriber processes holding raw HTTP/2 streams.
 */
export async function externalFeedSuite(settings: BenchSettings, log: (line: string) => void): Promise<ExternalFeedResults> {
  const all = benchSymbolIds();
  if (settings.feed.symbols > all.length) throw new Error(`--feed-symbols is at most ${all.length}, the symbols every peer holds`);
  const symbolIds = all.slice(0, settings.feed.symbols);
  const rows = feedRows(settings);
  const results: ExternalFeedResults = {
    intervalMs: FEED_INTERVAL_MS,
    symbols: symbolIds.length,
    streamsPerConnection: settings.feed.streamsPerConnection,
    gatewaySettings: Object.fromEntries(STREAMING_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : []))),
    rows,
    runs: [],
    ratios: {},
  };
  for (const row of rows) {
    for (const peer of FEED_PEERS) {
      if (!wants(settings, peer.peer)) continue;
      log(`external feed: row ${row.id}, ${peer.peer}: ${row.title}, ${settings.warmupS}s warm-up, ${settings.durationS}s measured`);
      const run = await measureRow(settings, row, peer, symbolIds).catch((error: unknown) => failedRun(row, peer.peer, symbolIds.length, String(error)));
      if (run.error !== undefined) log(`external feed: row ${row.id}, ${peer.peer} failed: ${run.error}`);
      else {
        log(
          `external feed: row ${row.id}, ${peer.peer}: ${run.deliveredPerSecond} of ${run.offeredMessagesPerSecond} msg/s delivered, ` +
            `p50 ${run.latency.p50Ms} ms, p99 ${run.latency.p99Ms} ms, server ${run.serverCores} cores, clients ${run.clientCores.join("/")} cores`,
        );
      }
      results.runs.push(run);
    }
    const delivered = (peer: string) => results.runs.find((r) => r.row === row.id && r.peer === peer && r.error === undefined)?.deliveredPerSecond;
    results.ratios[`gateway/grpc-js, row ${row.id}`] = ratio(delivered("gateway"), delivered("grpc-js"));
  }
  return results;
}

/** FeedPeer is a server the scenario runs against: its script and environment. */
export interface FeedPeer {
  readonly peer: string;
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * measureRow measures one row on one peer, on a fresh server process: the
 * history suite measures its own rows this way too.
 */
export async function measureRow(settings: BenchSettings, row: FeedRow, peer: FeedPeer, symbolIds: number[]): Promise<FeedRun> {
  const ticksPerCall = Math.max(1, Math.round((row.ticksPerSecond * FEED_INTERVAL_MS) / 1000));
  const server = await startChild(peer.script, { env: { ...peer.env } });
  let overLimit: string | undefined;
  const watch = new RssWatch(server.pid, settings.feed.rssLimitMiB * 2 ** 20, (rss) => {
    overLimit = `stopped at ${Math.round(rss / 2 ** 20)} MiB RSS, past the ${settings.feed.rssLimitMiB} MiB limit`;
    process.kill(server.pid, "SIGKILL");
  });
  const clients: Child[] = [];
  let producer: Child | undefined;
  try {
    const port = server.ready.port as number;
    const producerInit: TickProducerInit = { port, symbolIds, ticksPerCall, intervalMs: FEED_INTERVAL_MS, maxInFlight: MAX_CALLS_IN_FLIGHT };
    const [subscribers, producing] = await Promise.allSettled([
      startSubscribers(settings, row, port, symbolIds),
      startChild("clients/tick-producer.ts", { init: { ...producerInit } }),
    ]);
    if (subscribers.status === "fulfilled") clients.push(...subscribers.value);
    if (producing.status === "fulfilled") producer = producing.value;
    if (subscribers.status === "rejected") throw subscribers.reason;
    if (producing.status === "rejected") throw producing.reason;
    if (producer === undefined) throw new Error("no producer");
    await producer.request("begin");
    await sleep(settings.warmupS * 1000);

    const everyone = [...clients, producer];
    const cpuBefore = everyone.map((c) => processCpuMs(c.pid));
    const serverCpuBefore = processCpuMs(server.pid);
    const rssStart = processRssBytes(server.pid);
    watch.resetPeak(rssStart);
    const startedAt = performance.now();
    await Promise.all(everyone.map((c) => c.request("start")));
    await sleep(settings.durationS * 1000);
    const [tallies, fed] = await Promise.all([Promise.all(clients.map((c) => c.request("stop"))), producer.request("stop")]);
    const elapsedMs = performance.now() - startedAt;
    const serverCpuAfter = processCpuMs(server.pid);
    const rssEnd = processRssBytes(server.pid);
    const cpuAfter = everyone.map((c) => processCpuMs(c.pid));
    if (overLimit !== undefined) throw new Error(overLimit);

    const cores = (i: number) => {
      const before = cpuBefore[i];
      const after = cpuAfter[i];
      return before === undefined || after === undefined ? Number.NaN : round((after - before) / elapsedMs, 2);
    };
    const sum = (key: string) => tallies.reduce((total, t) => total + (t[key] as number), 0);
    const messages = sum("messages");
    const clientElapsedMs = Math.max(...tallies.map((t) => t.elapsedMs as number));
    const sentTicksPerSecond = round(((fed.sentTicks as number) * 1000) / (fed.elapsedMs as number), 0);
    const serverCpuMs = serverCpuBefore === undefined || serverCpuAfter === undefined ? undefined : serverCpuAfter - serverCpuBefore;
    // Messages scaled to the runner's window, the one the CPU readings span.
    const messagesInWindow = (messages * elapsedMs) / clientElapsedMs;
    const failures = tallies.map((t) => t.lastError).filter((e) => e !== undefined);
    return {
      row: row.id,
      peer: peer.peer,
      streams: row.streams,
      stalledStreams: row.stalledStreams,
      symbols: symbolIds.length,
      clientProcesses: clients.length,
      ticksPerCall,
      offeredTicksPerSecond: round((ticksPerCall * 1000) / FEED_INTERVAL_MS, 0),
      sentTicksPerSecond,
      offeredMessagesPerSecond: sentTicksPerSecond * row.streams,
      deliveredPerSecond: round((messages * 1000) / clientElapsedMs, 0),
      latency: summarizeHistogram(mergeHistograms(tallies.map((t) => t.histogram as string))),
      sequenceJumps: sum("sequenceJumps"),
      skippedUpdates: sum("skippedUpdates"),
      outOfOrder: sum("outOfOrder"),
      endedStreams: sum("endedStreams"),
      publish: {
        calls: fed.answeredCalls as number,
        failed: fed.failedCalls as number,
        waitedForInFlight: fed.waitedForInFlight as number,
        latency: summarizeHistogram(mergeHistograms([fed.histogram as string])),
      },
      serverCores: serverCpuMs === undefined ? undefined : round(serverCpuMs / elapsedMs, 2),
      serverCpuUsPerMessage: serverCpuMs === undefined || messagesInWindow <= 0 ? undefined : round((serverCpuMs * 1000) / messagesInWindow, 2),
      rssBytes: { start: rssStart, end: rssEnd, peak: watch.peakBytes },
      clientCores: clients.map((_, i) => cores(i)),
      producerCores: cores(clients.length),
      stalledBytesBuffered: sum("stalledBytesBuffered"),
      loadAverage: round(loadavg()[0]!, 2),
      ...(failures.length > 0 && messages === 0 ? { error: String(failures[0]) } : {}),
    };
  } catch (error) {
    throw overLimit !== undefined ? new Error(overLimit) : error;
  } finally {
    watch.stop();
    if (producer !== undefined) {
      await producer.request("end", {}, 10_000).catch(() => undefined);
      await producer.stop();
    }
    await Promise.all(clients.map((c) => c.request("close", {}, 10_000).catch(() => undefined)));
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

// Reading streams are shared out over the client processes, whole
// connections each; the stalled ones go to the first process.
async function startSubscribers(settings: BenchSettings, row: FeedRow, port: number, symbolIds: number[]): Promise<Child[]> {
  const perConnection = Math.min(settings.feed.streamsPerConnection, row.streams);
  const connections = Math.ceil(row.streams / perConnection);
  const count = Math.max(1, Math.min(settings.clientProcesses, connections));
  let remaining = row.streams;
  const shares = Array.from({ length: count }, (_, i) => {
    const mine = Math.min(remaining, (Math.floor(connections / count) + (i < connections % count ? 1 : 0)) * perConnection);
    remaining -= mine;
    return mine;
  });
  const started = await Promise.allSettled(
    shares.map((streams, i) => {
      const init: FanoutClientInit = { port, streams, streamsPerSession: perConnection, symbolIds, stalledStreams: i === 0 ? row.stalledStreams : 0 };
      return startChild("clients/fanout-client.ts", { init: { ...init }, readyTimeoutMs: 120_000 });
    }),
  );
  const clients = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(clients.map((c) => c.request("close", {}, 10_000).catch(() => undefined)));
    await Promise.all(clients.map((c) => c.stop()));
    throw (failed as PromiseRejectedResult).reason;
  }
  return clients;
}

function failedRun(row: FeedRow, peer: string, symbols: number, error: string): FeedRun {
  const empty = summarize([]);
  return {
    row: row.id,
    peer,
    streams: row.streams,
    stalledStreams: row.stalledStreams,
    symbols,
    clientProcesses: 0,
    ticksPerCall: 0,
    offeredTicksPerSecond: row.ticksPerSecond,
    sentTicksPerSecond: Number.NaN,
    offeredMessagesPerSecond: Number.NaN,
    deliveredPerSecond: Number.NaN,
    latency: empty,
    sequenceJumps: 0,
    skippedUpdates: 0,
    outOfOrder: 0,
    endedStreams: 0,
    publish: { calls: 0, failed: 0, waitedForInFlight: 0, latency: empty },
    rssBytes: {},
    clientCores: [],
    stalledBytesBuffered: 0,
    loadAverage: round(loadavg()[0]!, 2),
    error,
  };
}
