import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { freePort } from "../support/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { MarketDataClient } from "../../packages/client/src/index.js";
import { MarketDataService } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { startGatewayProcess, type GatewayProcess } from "../support/gateway-process.js";
import { startRedis, type TestRedis } from "../support/redis-server.js";
import { waitFor } from "../support/transports.js";

const SHIPPED_CADDYFILE = new URL("../../deploy/replicas/Caddyfile", import.meta.url);
const KEY_PREFIX = "rolling:";
// Three times the shipped Caddyfile's health interval, a margin for a busy
// machine; shorter than the 5 s default for a quicker suite.
const DRAIN_DELAY_MS = "3000";
// Published only through the balancer, so its sequence counts acknowledged ticks.
const PUBLISHED_SYMBOL = 990_001;

/** Caddy is Debian's caddy running a copy of the shipped Caddyfile. */
interface Caddy {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The shipped Caddyfile as an operator runs it without DNS discovery: the
 * same settings, two fixed loopback upstreams, a free port, no admin API.
 */
async function startCaddy(upstreams: readonly number[]): Promise<Caddy> {
  const dir = await mkdtemp(join(tmpdir(), "stockify-caddy-"));
  const port = await freePort();
  const shipped = await readFile(SHIPPED_CADDYFILE, "utf8");
  const named = /^\t\tto gateway-1:50051 .*$/m;
  assert.match(shipped, named, "the shipped Caddyfile names its replicas");
  assert.match(shipped, /^:8080 \{$/m, "the shipped Caddyfile listens on :8080");
  const caddyfile = shipped
    // Stopping the test's Caddy need not wait for its clients' idle connections.
    .replace(/^\{$/m, "{\n\tadmin off\n\tdefault_bind 127.0.0.1\n\tgrace_period 100ms")
    .replace(/^:8080 \{$/m, `:${port} {`)
    .replace(named, `\t\tto ${upstreams.map((p) => `127.0.0.1:${p}`).join(" ")}`);
  const file = join(dir, "Caddyfile");
  await writeFile(file, caddyfile);
  const child: ChildProcess = spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  let failed = false;
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.once("error", (error) => {
    failed = true;
    output += `${error.message} (Debian's caddy: apt-get install caddy, as .ci/run does)`;
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (failed || child.exitCode !== null || Date.now() > deadline) throw new Error(`caddy did not start:\n${output}`);
    await sleep(50);
  }
  return {
    baseUrl,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Load is a loop of one kind of unary call that records every failure. */
interface Load {
  readonly name: string;
  calls: number;
  readonly failures: string[];
  done: Promise<void>;
}

function loop(name: string, call: () => Promise<void>, stop: AbortSignal): Load {
  const load: Load = { name, calls: 0, failures: [], done: Promise.resolve() };
  load.done = (async () => {
    while (!stop.aborted) {
      try {
        await call();
      } catch (error) {
        const reason = error instanceof ConnectError ? `${Code[error.code]}: ${error.rawMessage}` : String(error);
        load.failures.push(`${new Date().toISOString()} ${reason}`);
      }
      load.calls++;
      await sleep(10);
    }
  })();
  return load;
}

/** SseFollower reads an SSE stream and, as an EventSource would, reconnects with Last-Event-ID when it ends. */
interface SseFollower {
  events: number;
  /** How each connection ended: the code of its `error` event, or why there was none. */
  readonly ends: string[];
  error: unknown;
}

function followSse(baseUrl: string, symbolId: number, stop: AbortSignal): SseFollower {
  const follower: SseFollower = { events: 0, ends: [], error: undefined };
  (async () => {
    let lastEventId: string | undefined;
    while (!stop.aborted) {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const response = await fetch(`${baseUrl}/v1/snapshots:stream?symbol_ids=${symbolId}`, { headers, signal: stop });
      if (response.status !== 200) throw new Error(`HTTP ${response.status} ${await response.text()}`);
      let buffered = "";
      let end = "closed without an error event";
      for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
        buffered += chunk;
        for (let cut = buffered.indexOf("\n\n"); cut >= 0; cut = buffered.indexOf("\n\n")) {
          const fields = new Map(buffered.slice(0, cut).split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
          buffered = buffered.slice(cut + 2);
          if (fields.get("event") === "error") end = String((JSON.parse(fields.get("data")!) as { code: unknown }).code);
          else if (fields.has("data")) {
            follower.events++;
            lastEventId = fields.get("id") ?? lastEventId;
          }
        }
      }
      follower.ends.push(end);
    }
  })().catch((error: unknown) => {
    if (!stop.aborted) follower.error = error;
  });
  return follower;
}

/** Resolves once the balancer has sent a replica a call: its call counter moved. */
async function waitUntilBalancedTo(replica: GatewayProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const metrics = await (await fetch(`${replica.baseUrl}/metrics`)).text();
    const calls = metrics
      .split("\n")
      .filter((line) => line.startsWith("grpc_requests_total{"))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    if (calls > 0) return;
    if (Date.now() > deadline) throw new Error(`the balancer sent ${replica.baseUrl} no call`);
    await sleep(50);
  }
}

describe("a rolling restart behind the shipped Caddyfile", () => {
  let redis: TestRedis;
  const replicas: GatewayProcess[] = [];
  // Every process started, restarted replicas' predecessors included; one
  // at a time, so that none is still starting when a failed start ends the suite.
  const processes: GatewayProcess[] = [];
  const launch = async (env: Record<string, string>) => {
    const gateway = await startGatewayProcess(env);
    processes.push(gateway);
    return gateway;
  };
  let caddy: Caddy;
  const env = () => ({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX, SIMULATOR: "off", SHUTDOWN_DRAIN_DELAY_MS: DRAIN_DELAY_MS });

  before(async () => {
    redis = await startRedis();
    await launch({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: KEY_PREFIX, SIMULATOR: "on", SIMULATOR_SYMBOLS: "0" });
    replicas.push(await launch(env()));
    replicas.push(await launch(env()));
    await Promise.all(replicas.map((replica) => waitUntilReady(replica.baseUrl)));
    caddy = await startCaddy(replicas.map((replica) => replica.port));
  });

  after(async () => {
    // SIGINT: nothing balances to them any more, so no drain delay.
    for (const gateway of processes) if (gateway.child.exitCode === null) gateway.child.kill("SIGINT");
    await Promise.all(processes.map((gateway) => gateway.stop()));
    await caddy?.stop();
    const client = redis?.client();
    const keys = (await client?.keys(`${KEY_PREFIX}*`)) ?? [];
    if (keys.length > 0) await client!.del(...keys);
    await redis?.stop();
  });

  it("fails no unary call, loses no acknowledged tick and keeps streams going while each replica restarts", async (t) => {
    const stop = new AbortController();
    const grpc = createGrpcTransport({ baseUrl: caddy.baseUrl });
    const data = createClient(MarketDataService, grpc);
    const feed = createClient(MarketFeedService, grpc);
    const connect = createClient(MarketDataService, createConnectTransport({ baseUrl: caddy.baseUrl, httpVersion: "2", useHttpGet: true }));
    let acknowledged = 0;
    const loads = [
      loop(
        "REST GET",
        async () => {
          const response = await fetch(`${caddy.baseUrl}/v1/snapshots/13`);
          const body = await response.text();
          if (response.status !== 200) throw new Error(`HTTP ${response.status} ${body}`);
        },
        stop.signal,
      ),
      loop("gRPC GetSnapshot", async () => void (await data.getSnapshot({ symbolId: 13 })), stop.signal),
      loop("Connect GET GetSnapshot", async () => void (await connect.getSnapshot({ symbolId: 25 })), stop.signal),
      loop(
        "gRPC PublishTicks",
        async () => {
          // Named, and priced within the band around its first price, as the tick policy asks.
          await feed.publishTicks({ ticks: [{ symbolId: PUBLISHED_SYMBOL, symbol: "ROLLING", ltp: 100 + (acknowledged % 100) / 100 }] });
          acknowledged++;
        },
        stop.signal,
      ),
    ];

    // Streams through the balancer, resumed by the client when a replica sends them away.
    const streamClient = new MarketDataClient({ baseUrl: caddy.baseUrl, retry: { initialBackoffMs: 50, maxBackoffMs: 200 } });
    const streams = [13, 27].map((symbolId) => {
      const stream = { symbolId, snapshots: 0, reconnects: [] as string[], error: undefined as unknown };
      (async () => {
        const onReconnect = ({ error }: { error: ConnectError }) => void stream.reconnects.push(Code[error.code]);
        for await (const _ of streamClient.subscribeSnapshots([symbolId], { signal: stop.signal, onReconnect })) stream.snapshots++;
      })().catch((error: unknown) => {
        if (!stop.signal.aborted) stream.error = error;
      });
      return stream;
    });

    const sse = followSse(caddy.baseUrl, 25, stop.signal);

    try {
      await sleep(500);
      for (const index of [0, 1]) {
        const replica = replicas[index]!;
        const port = replica.port;
        assert.equal(await replica.stop(), 0, `replica ${index} exits 0 on SIGTERM:\n${replica.output()}`);
        const restarted = await launch({ ...env(), PORT: String(port) });
        replicas[index] = restarted;
        // The balancer's health check has seen it before the other one goes.
        await waitUntilBalancedTo(restarted);
      }
      const seen = streams.map((stream) => stream.snapshots);
      const seenOnSse = sse.events;
      await waitFor(
        () => streams.every((stream, i) => stream.snapshots > seen[i]!) && sse.events > seenOnSse,
        5000,
        "updates on every stream after both restarts",
      );
    } finally {
      stop.abort();
      await Promise.all(loads.map((load) => load.done));
      await streamClient[Symbol.asyncDispose]();
    }

    for (const load of loads) t.diagnostic(`${load.name}: ${load.failures.length} of ${load.calls} calls failed`);
    t.diagnostic(`SSE stream of 25: ${sse.events} events, connections ended with ${sse.ends.join(", ")}`);
    for (const stream of streams) t.diagnostic(`stream of ${stream.symbolId}: ${stream.snapshots} snapshots, reconnects ${stream.reconnects.join(", ")}`);
    for (const load of loads) assert.ok(load.calls > 50, `${load.name}: only ${load.calls} calls`);
    assert.deepEqual(
      loads.map((load) => [load.name, load.failures.slice(0, 3)]),
      loads.map((load) => [load.name, []]),
      "no unary call through the balancer fails",
    );
    const { snapshot } = await createClient(MarketDataService, createGrpcTransport({ baseUrl: replicas[0]!.baseUrl })).getSnapshot({
      symbolId: PUBLISHED_SYMBOL,
    });
    assert.equal(snapshot?.sequence, BigInt(acknowledged), "every acknowledged tick is in Redis, and only those");
    for (const stream of streams) {
      assert.equal(stream.error, undefined, `stream of ${stream.symbolId} ended`);
      for (const code of stream.reconnects) assert.equal(code, "Unavailable", `stream of ${stream.symbolId} was ended with ${code}`);
    }
    assert.equal(sse.error, undefined, "the SSE stream reconnects every time");
    assert.ok(sse.ends.length > 0, "the SSE stream was sent away at least once");
    for (const end of sse.ends) assert.equal(end, "unavailable", "an SSE stream ends with an UNAVAILABLE error event");
  });
});

async function waitUntilReady(baseUrl: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${baseUrl} did not become ready`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
