import { startChild, type Child } from "../lib/child.js";
import { cpuPer, processCpuMs } from "../lib/process-cpu.js";
import { wants, type BenchSettings } from "../lib/settings.js";
import { ratio, round, summarize, type LatencySummary } from "../lib/stats.js";
import type { StreamClientInit } from "../clients/stream-client-init.js";
import { benchSymbolIds } from "../peers/bench-market.js";
import { externalFeedSuite, type ExternalFeedResults } from "./external-feed.js";

/**
 * The streaming peers: the gateway and grpc-js with the same service code;
 * the gateway without its lean lane only when named (`--only`), to keep a
 * full run short.
 */
export const STREAM_PEERS = [
  { peer: "gateway", script: "peers/gateway.ts", env: {}, optIn: false },
  { peer: "gateway-connect", script: "peers/gateway.ts", env: { GRPC_LANE: "off" }, optIn: true },
  { peer: "grpc-js", script: "peers/grpc-js.ts", env: {}, optIn: false },
] as const;

/** Ticks per second of the paced latency run. */
export const PACED_TICKS_PER_SECOND = 100;

const STREAMS_PER_SESSION = 100;

/**
 * StreamingRun is one measurement: some subscribers, a feed, a client kind.
 */
export interface StreamingRun {
  peer: string;
  client: "lean" | "real";
  subscribers: number;
  clientProcesses: number;
  /** Ticks the feed published per second (0 in the feed's request: as fast as it could). */
  publishedPerSecond: number;
  /** Messages all subscribers together received per second. */
  deliveredPerSecond: number;
  /** Publish-to-receive latency of the sampled messages. */
  latency: LatencySummary;
  /** Streams that ended during the run (they should not). */
  endedStreams: number;
  /** Why the measurement failed, when it did (the other figures are then empty). */
  error?: string;
  /** Cores the server process used while the feed ran (Linux only). */
  serverCores?: number;
  /** Server CPU time per delivered message, in microseconds (Linux only). */
  serverCpuUsPerMessage?: number;
}

/**
 * IdleMemory is the server memory a number of open, quiet streams costs.
 */
export interface IdleMemory {
  peer: string;
  streams: number;
  rssBytesPerStream: number;
  heapBytesPerStream: number;
  before: { rss: number; heapUsed: number };
  after: { rss: number; heapUsed: number };
  /** Why the measurement failed, when it did. */
  error?: string;
}

/**
 * StreamingResults gathers the streaming suite's figures.
 */
export interface StreamingResults {
  symbolsPerStream: number;
  pacedTicksPerSecond: number;
  /** Lean client, feed as fast as it can. */
  throughput: StreamingRun[];
  /** Lean client, feed paced, for latency without saturation. */
  paced: StreamingRun[];
  /** connect-node client, feed as fast as it can. */
  realClient: StreamingRun[];
  idleMemory: IdleMemory[];
  /** Delivered msg/s of the gateway over grpc-js, per subscriber count. */
  ratios: Record<string, number>;
  /** The deployment users run: producer and subscribers in processes of their own. */
  externalFeed: ExternalFeedResults;
}

/**
 * streamingSuite measures SubscribeSnapshots on each peer: delivered
 * messages per second and latency under a feed inside the server publishing
 * as fast as it can, latency under a paced feed, the same with a real
 * client, memory per idle stream, and then the external-feed scenario
 * (external-feed.ts), where producer and subscribers are processes of their own.
 */
export async function streamingSuite(settings: BenchSettings, log: (line: string) => void): Promise<StreamingResults> {
  const symbolIds = benchSymbolIds();
  const results: Omit<StreamingResults, "externalFeed"> = {
    symbolsPerStream: symbolIds.length,
    pacedTicksPerSecond: PACED_TICKS_PER_SECOND,
    throughput: [],
    paced: [],
    realClient: [],
    idleMemory: [],
    ratios: {},
  };
  const feedMs = settings.durationS * 1000;
  const midCount = settings.subscribers.includes(100) ? 100 : Math.max(...settings.subscribers);
  for (const { peer, script, env, optIn } of STREAM_PEERS) {
    if (optIn ? !settings.only.includes(peer) : !wants(settings, peer)) continue;
    const server = await startChild(script, { env });
    try {
      const port = server.ready.port as number;
      const run = (client: "lean" | "real", subscribers: number, ratePerSecond: number, sampleEvery: number) =>
        measure(settings, server, { peer, client, subscribers, ratePerSecond, feedMs, sampleEvery, init: { port, symbolIds, symbolsPerStream: symbolIds.length } }).catch(
          (error: unknown): StreamingRun => {
            log(`streaming: ${peer}, ${subscribers} ${client} subscribers failed: ${String(error)}`);
            const empty = { peer, client, subscribers, clientProcesses: 0, publishedPerSecond: Number.NaN, deliveredPerSecond: Number.NaN, endedStreams: 0 };
            return { ...empty, latency: summarize([]), error: String(error) };
          },
        );
      for (const subscribers of settings.subscribers) {
        log(`streaming: ${peer}, ${subscribers} lean subscribers, feed as fast as it can for ${settings.durationS}s`);
        results.throughput.push(await run("lean", subscribers, 0, 16));
        log(`streaming: ${peer}, ${subscribers} subscribers: ${results.throughput.at(-1)!.deliveredPerSecond} msg/s delivered`);
      }
      log(`streaming: ${peer}, ${midCount} lean subscribers, feed at ${PACED_TICKS_PER_SECOND} ticks/s`);
      results.paced.push(await run("lean", midCount, PACED_TICKS_PER_SECOND, 1));
      log(`streaming: ${peer}, ${midCount} connect-node subscribers, feed as fast as it can`);
      results.realClient.push(await run("real", midCount, 0, 16));
    } finally {
      await server.stop();
    }
    log(`streaming: ${peer}, memory with ${settings.idleStreams} idle streams`);
    results.idleMemory.push(
      await idleMemory(settings, peer, script, env, symbolIds).catch((error: unknown): IdleMemory => {
        log(`streaming: ${peer}, idle streams failed: ${String(error)}`);
        const nothing = { rss: Number.NaN, heapUsed: Number.NaN };
        return { peer, streams: settings.idleStreams, rssBytesPerStream: Number.NaN, heapBytesPerStream: Number.NaN, before: nothing, after: nothing, error: String(error) };
      }),
    );
  }
  for (const subscribers of settings.subscribers) {
    const rate = (peer: string) => results.throughput.find((r) => r.peer === peer && r.subscribers === subscribers)?.deliveredPerSecond;
    results.ratios[`gateway/grpc-js, ${subscribers} subscribers`] = ratio(rate("gateway"), rate("grpc-js"));
  }
  return { ...results, externalFeed: await externalFeedSuite(settings, log) };
}

interface MeasureOptions {
  peer: string;
  client: "lean" | "real";
  subscribers: number;
  ratePerSecond: number;
  feedMs: number;
  sampleEvery: number;
  init: Pick<StreamClientInit, "port" | "symbolIds" | "symbolsPerStream">;
}

async function measure(settings: BenchSettings, server: Child, options: MeasureOptions): Promise<StreamingRun> {
  const script = options.client === "lean" ? "clients/lean-stream-client.ts" : "clients/real-stream-client.ts";
  const clients = await startClients(script, options.subscribers, settings.clientProcesses, { ...options.init, sampleEvery: options.sampleEvery });
  try {
    await Promise.all(clients.map((c) => c.request("start")));
    const cpuBefore = processCpuMs(server.pid);
    const fed = await server.request("feed", { durationMs: options.feedMs, ratePerSecond: options.ratePerSecond });
    const cpuAfter = processCpuMs(server.pid);
    const tallies = await Promise.all(clients.map((c) => c.request("stop")));
    const messages = tallies.reduce((sum, t) => sum + (t.messages as number), 0);
    const elapsedMs = Math.max(...tallies.map((t) => t.elapsedMs as number));
    return {
      peer: options.peer,
      client: options.client,
      subscribers: options.subscribers,
      clientProcesses: clients.length,
      publishedPerSecond: round(((fed.published as number) * 1000) / (fed.elapsedMs as number), 0),
      deliveredPerSecond: round((messages * 1000) / elapsedMs, 0),
      latency: summarize(tallies.flatMap((t) => t.latenciesMs as number[])),
      endedStreams: tallies.reduce((sum, t) => sum + (t.endedStreams as number), 0),
      serverCores:
        cpuBefore === undefined || cpuAfter === undefined ? undefined : round((cpuAfter - cpuBefore) / (fed.elapsedMs as number), 2),
      serverCpuUsPerMessage: cpuPer(cpuBefore, cpuAfter, Math.round((messages * (fed.elapsedMs as number)) / elapsedMs)),
    };
  } finally {
    await stopClients(clients);
  }
}

async function idleMemory(
  settings: BenchSettings,
  peer: string,
  script: string,
  env: Record<string, string>,
  symbolIds: number[],
): Promise<IdleMemory> {
  const server = await startChild(script, { env, nodeFlags: ["--expose-gc"] });
  try {
    const port = server.ready.port as number;
    const before = await server.request("memory");
    const clients = await startClients("clients/lean-stream-client.ts", settings.idleStreams, settings.clientProcesses, {
      port,
      symbolIds,
      symbolsPerStream: 1,
      sampleEvery: 1,
    });
    try {
      const after = await server.request("memory");
      const perStream = (key: string) => round(((after[key] as number) - (before[key] as number)) / settings.idleStreams, 0);
      return {
        peer,
        streams: settings.idleStreams,
        rssBytesPerStream: perStream("rss"),
        heapBytesPerStream: perStream("heapUsed"),
        before: { rss: before.rss as number, heapUsed: before.heapUsed as number },
        after: { rss: after.rss as number, heapUsed: after.heapUsed as number },
      };
    } finally {
      await stopClients(clients);
    }
  } finally {
    await server.stop();
  }
}

async function startClients(
  script: string,
  streams: number,
  processes: number,
  init: Omit<StreamClientInit, "streams" | "streamsPerSession">,
): Promise<Child[]> {
  const count = Math.max(1, Math.min(processes, streams));
  const shares = Array.from({ length: count }, (_, i) => Math.floor(streams / count) + (i < streams % count ? 1 : 0));
  const started = await Promise.allSettled(
    shares.map((share) =>
      startChild(script, { init: { ...init, streams: share, streamsPerSession: STREAMS_PER_SESSION }, readyTimeoutMs: 120_000 }),
    ),
  );
  const clients = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await stopClients(clients);
    throw (failed as PromiseRejectedResult).reason;
  }
  return clients;
}

async function stopClients(clients: Child[]): Promise<void> {
  await Promise.all(clients.map((c) => c.request("close", {}, 10_000).catch(() => undefined)));
  await Promise.all(clients.map((c) => c.stop()));
}
