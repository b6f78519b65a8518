// Measures the migration guide's comparison table against a running gateway,
// from its own process, with the clients a user would pick: fetch for REST
// and Connect JSON over HTTP/1.1, connect-node's gRPC transport over h2c.
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  GetBatchSnapshotsRequestSchema,
  GetSnapshotRequestSchema,
  MarketDataService,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { serveParent, type ChildMessage } from "../lib/child.js";
import { summarize, type LatencySummary } from "../lib/stats.js";
import { BENCH_SYMBOL_ID, benchSymbolIds } from "../peers/bench-market.js";

/** The symbol the push-versus-poll measurement updates; nothing else touches it. */
const PUSH_SYMBOL_ID = benchSymbolIds().at(-1)!;
const POLL_INTERVAL_MS = 100;

interface SeedRun {
  port: number;
  iterations: number;
  /** Updates published for the push-versus-poll figure. */
  updates: number;
  /** Whether the gateway answers REST routes (GET /v1/snapshots/{id}). */
  rest: boolean;
}

serveParent({}, {
  run: (message) => runSeed(message as ChildMessage & SeedRun),
});

async function runSeed(run: SeedRun) {
  const base = `http://127.0.0.1:${run.port}`;
  const transport = createGrpcTransport({ baseUrl: base });
  const grpcClient = createClient(MarketDataService, transport);
  const feed = createClient(MarketFeedService, transport);
  const connectPath = (method: string) => `${base}/${MarketDataService.typeName}/${method}`;
  const batchIds = benchSymbolIds().slice(0, 100);

  // One "REST" call for one symbol: the REST route when the gateway has
  // one, Connect JSON (POST, HTTP/1.1) otherwise.
  const restGet = run.rest
    ? async (id: number) => json(await fetch(`${base}/v1/snapshots/${id}`))
    : async (id: number) => connectJsonGet(id);
  const connectJsonGet = async (id: number) =>
    json(await fetch(connectPath("GetSnapshot"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ symbolId: id }) }));

  const getSnapshot: Record<string, LatencySummary> = {};
  if (run.rest) getSnapshot.rest = await timeCalls(run.iterations, () => restGet(BENCH_SYMBOL_ID));
  getSnapshot.connectJson = await timeCalls(run.iterations, () => connectJsonGet(BENCH_SYMBOL_ID));
  getSnapshot.grpc = await timeCalls(run.iterations, () => grpcClient.getSnapshot({ symbolId: BENCH_SYMBOL_ID }));

  const batchRounds = Math.max(10, Math.round(run.iterations / 20));
  const batch = {
    grpcOneCall: await timeCalls(batchRounds, () => grpcClient.getBatchSnapshots({ symbolIds: batchIds })),
    connectJsonOneCall: await timeCalls(batchRounds, async () =>
      json(await fetch(connectPath("GetBatchSnapshots"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ symbolIds: batchIds }) })),
    ),
    restSequential: await timeCalls(batchRounds, async () => {
      for (const id of batchIds) await restGet(id);
    }),
    restConcurrent: await timeCalls(batchRounds, () => Promise.all(batchIds.map((id) => restGet(id)))),
  };

  const streaming = await pushVersusPoll(grpcClient, feed, restGet, run.updates);
  const payload = await payloadSizes(base, run.rest, batchIds);
  return { restRoutes: run.rest, getSnapshot, batch, batchRounds, streaming, payload };
}

async function timeCalls(count: number, call: () => Promise<unknown>): Promise<LatencySummary> {
  // Warm up connections and JIT, then time calls one after another.
  for (let i = 0; i < Math.min(100, count); i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

async function json(response: Response): Promise<unknown> {
  if (!response.ok) throw new Error(`${response.url} answered ${response.status}`);
  return response.json();
}

// Publishes updates of one symbol at irregular intervals; a gRPC subscriber
// and a client polling every 100 ms each note when they first see every
// update. Latency is from the start of the publish call, all on one clock.
async function pushVersusPoll(
  grpcClient: Client<typeof MarketDataService>,
  feed: Client<typeof MarketFeedService>,
  restGet: (id: number) => Promise<unknown>,
  updates: number,
) {
  const published = new Map<number, number>();
  const pushed: number[] = [];
  const polled: number[] = [];
  let lastPolledSequence = 0;
  const aborter = new AbortController();
  let subscribed!: (sequence: number) => void;
  const ready = new Promise<number>((resolve) => (subscribed = resolve));
  const subscriber = (async () => {
    try {
      for await (const response of grpcClient.subscribeSnapshots({ symbolIds: [PUSH_SYMBOL_ID] }, { signal: aborter.signal })) {
        if (response.event.case !== "snapshot") continue;
        const seen = performance.now();
        const pushedSequence = Number(response.event.value.sequence);
        const at = published.get(pushedSequence);
        if (at !== undefined) pushed.push(seen - at);
        else subscribed(pushedSequence);
      }
    } catch (error) {
      if (!aborter.signal.aborted) throw error;
    }
  })();
  let sequence = await ready;
  lastPolledSequence = sequence;
  const poller = (async () => {
    while (!aborter.signal.aborted) {
      const body = (await restGet(PUSH_SYMBOL_ID)) as { sequence?: string; snapshot?: { sequence?: string } };
      const seen = performance.now();
      const polledSequence = Number(body.sequence ?? body.snapshot?.sequence);
      // Every update not seen by the previous poll is seen now.
      for (let s = lastPolledSequence + 1; s <= polledSequence; s++) {
        const at = published.get(s);
        if (at !== undefined) polled.push(seen - at);
      }
      lastPolledSequence = Math.max(lastPolledSequence, polledSequence);
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  })();
  // Irregular gaps, so updates land at every phase of the polling cycle.
  let price = 1000;
  for (let i = 0; i < updates; i++) {
    await new Promise((resolve) => setTimeout(resolve, 60 + Math.random() * 180));
    price += 0.05;
    // Noted before the call: the update may reach the subscriber before
    // the publisher hears back.
    sequence++;
    published.set(sequence, performance.now());
    const response = await feed.publishTicks({ ticks: [{ symbolId: PUSH_SYMBOL_ID, ltp: price }] });
    if (Number(response.sequences[PUSH_SYMBOL_ID]) !== sequence) throw new Error(`symbol ${PUSH_SYMBOL_ID} was updated by someone else`);
  }
  // Let the last update reach the poller.
  await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS * 3));
  aborter.abort();
  await Promise.allSettled([subscriber, poller]);
  return { updates, pollIntervalMs: POLL_INTERVAL_MS, push: summarize(pushed), poll: summarize(polled) };
}

// Response bodies as the gateway sends them, and their gzip sizes: Connect
// binary bodies are the protobuf message (gRPC adds a 5-byte prefix).
async function payloadSizes(base: string, rest: boolean, batchIds: number[]) {
  const body = async (path: string, init: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const sizes = (bytes: Buffer) => ({ bytes: bytes.length, gzipBytes: gzipSync(bytes).length });
  const connect = (method: string, type: "json" | "proto", message: object, binary: Uint8Array) =>
    body(`/${MarketDataService.typeName}/${method}`, {
      method: "POST",
      headers: { "content-type": `application/${type}` },
      body: type === "json" ? JSON.stringify(message) : Buffer.from(binary),
    });
  const one = { symbolId: BENCH_SYMBOL_ID };
  const many = { symbolIds: batchIds };
  const oneBinary = toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, one));
  const manyBinary = toBinary(GetBatchSnapshotsRequestSchema, create(GetBatchSnapshotsRequestSchema, many));
  return {
    snapshot: {
      json: sizes(rest ? await body(`/v1/snapshots/${BENCH_SYMBOL_ID}`, {}) : await connect("GetSnapshot", "json", one, oneBinary)),
      protobuf: sizes(await connect("GetSnapshot", "proto", one, oneBinary)),
    },
    batch100: {
      json: sizes(await connect("GetBatchSnapshots", "json", many, manyBinary)),
      protobuf: sizes(await connect("GetBatchSnapshots", "proto", many, manyBinary)),
    },
  };
}
