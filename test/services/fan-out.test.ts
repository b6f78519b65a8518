import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MarketFeedService } from "../../src/gen/stockify/v1/market_feed_service_pb.js";
import { SnapshotMode, SnapshotSchema, type Snapshot as SnapshotMessage } from "../../src/gen/stockify/v1/snapshot_pb.js";
import type { MarketDepth, Snapshot } from "../../src/market/snapshot.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { scrapeMetrics } from "../support/prometheus.js";
import { grpcStalled, STALLED_CASES, type StalledStream, type StalledStreamCase } from "../support/stalled-stream.js";
import {
  GRPC_SUBSCRIBER_CASES,
  SUBSCRIBER_CASES,
  type ReceivedSnapshot,
  type SubscribeOptions,
  type Subscriber,
  type SubscriberCase,
} from "../support/stream-subscribers.js";
import { waitFor } from "../support/transports.js";

interface GatewaySetup {
  name: string;
  env: Record<string, string>;
  cases: SubscriberCase[];
  stalled: StalledStreamCase[];
}

// Connect, gRPC-Web and REST do not depend on the gRPC lane: they run once,
// on the default gateway; gRPC runs on both lanes.
const SETUPS: GatewaySetup[] = [
  { name: "the default gateway", env: {}, cases: SUBSCRIBER_CASES, stalled: STALLED_CASES },
  {
    name: "a gateway with GRPC_LANE=off",
    env: { GRPC_LANE: "off" },
    cases: GRPC_SUBSCRIBER_CASES,
    stalled: [grpcStalled(false), grpcStalled(true)],
  },
];

const RATE_LIMIT = 5;
const RATE_PUBLISH_MS = 1200;

// Every test has symbols of its own, so that what one test publishes never
// reaches another's streams.
let nextSymbolId = 70_000;

/** Five levels a side around a price, as an exchange's book would have them. */
function book(price: number): MarketDepth {
  const levels = [1, 2, 3, 4, 5];
  return {
    bids: levels.map((level) => ({ price: price - level * 0.05, quantity: 100 * level, orders: level })),
    asks: levels.map((level) => ({ price: price + level * 0.05, quantity: 90 * level, orders: level + 1 })),
  };
}

/** The snapshot a client should receive in a mode, written out field by field. */
function expectedMessage(snapshot: Snapshot, mode: SnapshotMode): SnapshotMessage {
  const ltp = {
    symbolId: snapshot.symbolId,
    ltp: snapshot.ltp,
    sequence: BigInt(snapshot.sequence),
    exchangeTime: timestampFromMs(snapshot.exchangeTimeMs),
  };
  if (mode === SnapshotMode.LTP) return create(SnapshotSchema, ltp);
  const quote = {
    ...ltp,
    symbol: snapshot.symbol,
    open: snapshot.open,
    high: snapshot.high,
    low: snapshot.low,
    close: snapshot.close,
    volume: BigInt(snapshot.volume),
    bid: snapshot.bid,
    ask: snapshot.ask,
    bidSize: BigInt(snapshot.bidSize),
    askSize: BigInt(snapshot.askSize),
  };
  if (mode === SnapshotMode.QUOTE) return create(SnapshotSchema, quote);
  const level = (l: Snapshot["depth"]["bids"][number]) => ({ price: l.price, quantity: BigInt(l.quantity), orders: l.orders });
  return create(SnapshotSchema, { ...quote, depth: { bids: snapshot.depth.bids.map(level), asks: snapshot.depth.asks.map(level) } });
}

function sequencesOf(snapshots: readonly { symbolId: number; sequence: number }[], symbolId: number): number[] {
  return snapshots.filter((s) => s.symbolId === symbolId).map((s) => s.sequence);
}

function assertIncreasing(sequences: number[], what: string): void {
  for (let i = 1; i < sequences.length; i++) {
    assert.ok(sequences[i]! > sequences[i - 1]!, `${what}: ${sequences[i]} after ${sequences[i - 1]} in ${sequences.join(",")}`);
  }
}

function jumps(sequences: number[]): number {
  let count = 0;
  for (let i = 1; i < sequences.length; i++) if (sequences[i]! > sequences[i - 1]! + 1) count++;
  return count;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Waits until a subscriber's snapshots satisfy a check, failing at once with its error if the stream ends. */
async function receive(subscriber: Subscriber, check: (snapshots: ReceivedSnapshot[]) => boolean, what: string): Promise<void> {
  await waitFor(() => check(subscriber.snapshots) || subscriber.ended, 5000, what);
  assert.ok(check(subscriber.snapshots), `${what}: the stream ended (${String(subscriber.error)})`);
}

function hasAll(snapshots: readonly { symbolId: number; sequence: number }[], wanted: readonly Snapshot[]): boolean {
  return wanted.every((w) => snapshots.some((s) => s.symbolId === w.symbolId && s.sequence === w.sequence));
}

async function activeStreams(baseUrl: string): Promise<number> {
  return (await scrapeMetrics(baseUrl))("grpc_active_streams") ?? 0;
}

for (const setup of SETUPS) {
  describe(`fan-out to every streaming protocol, on ${setup.name}`, () => {
    let gateway: TestGateway;
    const subscribers: Subscriber[] = [];
    const stalledStreams: StalledStream[] = [];
    before(async () => {
      gateway = await startGateway({ HEARTBEAT_INTERVAL_MS: "0", ...setup.env });
    });
    // Every test must leave the hub and the stream gauge as it found them:
    // a stream that lingers after its client left is a leak.
    afterEach(async () => {
      await Promise.all(subscribers.splice(0).map((s) => s.close()));
      for (const stalled of stalledStreams.splice(0)) stalled.close();
      await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 5000, "every subscription released");
      let active = await activeStreams(gateway.baseUrl);
      for (const deadline = Date.now() + 5000; active !== 0 && Date.now() < deadline; await sleep(20)) {
        active = await activeStreams(gateway.baseUrl);
      }
      assert.equal(active, 0, "grpc_active_streams back to 0");
    });
    after(() => gateway.close());

    async function newSymbols(count: number): Promise<number[]> {
      const ids = Array.from({ length: count }, () => nextSymbolId++);
      await gateway.app.market.ingest(ids.map((symbolId) => ({ symbolId, symbol: `FAN${symbolId}`, ltp: 100, volume: 1 })));
      return ids;
    }

    function open(subscriberCase: SubscriberCase, ...subscriptions: SubscribeOptions[]): Subscriber {
      const subscriber = subscriberCase.open(gateway.baseUrl, subscriptions);
      subscribers.push(subscriber);
      return subscriber;
    }

    for (const subscriberCase of setup.cases) {
      describe(subscriberCase.name, () => {
        it("delivers each symbol's updates in order, the last published last", async () => {
          const ids = await newSymbols(3);
          const stream = open(subscriberCase, { symbolIds: ids });
          await receive(stream, (s) => ids.every((id) => s.some((x) => x.symbolId === id)), "the current snapshots");
          let last: Snapshot[] = [];
          for (let round = 1; round <= 40; round++) {
            last = await gateway.app.market.ingest(ids.map((symbolId) => ({ symbolId, ltp: 100 + round, volume: 1 })));
            // Uneven pauses, so that some updates share a delivery cycle and some do not.
            if (round % 4 === 0) await sleep(round % 8 === 0 ? 6 : 0);
          }
          await receive(stream, (s) => hasAll(s, last), "the last update of each symbol");
          for (const snapshot of last) {
            const sequences = sequencesOf(stream.snapshots, snapshot.symbolId);
            assertIncreasing(sequences, `symbol ${snapshot.symbolId}`);
            assert.equal(sequences.at(-1), snapshot.sequence);
          }
        });

        it("loses no update while the reader keeps up", async () => {
          const ids = await newSymbols(2);
          const stream = open(subscriberCase, { symbolIds: ids });
          await receive(stream, (s) => ids.every((id) => s.some((x) => x.symbolId === id)), "the current snapshots");
          const feed = createClient(MarketFeedService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
          let sequences: Record<number, bigint> = {};
          for (let round = 1; round <= 12; round++) {
            ({ sequences } = await feed.publishTicks({ ticks: ids.map((symbolId) => ({ symbolId, ltp: 100 + round })) }));
            // Paced at several flush windows apart: each update gets a delivery cycle of its own.
            await sleep(20);
          }
          for (const id of ids) {
            const lastPublished = Number(sequences[id]);
            await receive(stream, (s) => s.some((x) => x.symbolId === id && x.sequence === lastPublished), `symbol ${id}'s last update`);
            const received = sequencesOf(stream.snapshots, id);
            assert.deepEqual(received, range(received[0]!, lastPublished), `symbol ${id}`);
            assert.equal(received[0], 1, "the first snapshot is the seeded one");
          }
        });

        it("sends at most max_updates_per_second per symbol and always the latest; 0 means unlimited", async () => {
          const [limited, unlimited] = await newSymbols(2);
          const requests: SubscribeOptions[] = [
            { symbolIds: [limited!], maxUpdatesPerSecond: RATE_LIMIT },
            { symbolIds: [unlimited!], maxUpdatesPerSecond: 0 },
          ];
          // One stream with a rate per symbol where the RPC allows it, else a stream each.
          const streams = subscriberCase.bidi ? [open(subscriberCase, ...requests)] : requests.map((r) => open(subscriberCase, r));
          const all = () => streams.flatMap((s) => s.snapshots);
          const both = () => [limited!, unlimited!].every((id) => sequencesOf(all(), id).length > 0);
          await waitFor(both, 5000, "the current snapshots");
          let last: Snapshot[] = [];
          let published = 0;
          const start = performance.now();
          for (let price = 101; performance.now() - start < RATE_PUBLISH_MS; price++) {
            last = await gateway.app.market.ingest([
              { symbolId: limited!, ltp: price },
              { symbolId: unlimited!, ltp: price },
            ]);
            published++;
            await sleep(10);
          }
          for (const stream of streams) assert.equal(stream.error, undefined);
          await waitFor(() => hasAll(all(), last), 5000, "the last published update of both symbols");

          const limitedSequences = sequencesOf(all(), limited!);
          assertIncreasing(limitedSequences, "the limited symbol");
          // 1.2 s at 5 a second is 6 updates; add the current snapshot sent on
          // subscribing, the latest sent after publishing stopped, and one for
          // where the 200 ms slots fall against the publishing. Fewer only when
          // timers run late on a loaded machine: never more often than allowed.
          assert.ok(
            limitedSequences.length >= 3 && limitedSequences.length <= 9,
            `${limitedSequences.length} updates at ${RATE_LIMIT}/s over ${RATE_PUBLISH_MS} ms: ${limitedSequences.join(",")}`,
          );
          const [lastLimited, lastUnlimited] = [limited, unlimited].map((id) => last.find((s) => s.symbolId === id)!);
          const finalLimited = all().filter((s) => s.symbolId === limited).at(-1)!;
          assert.deepEqual(
            [finalLimited.sequence, finalLimited.ltp],
            [lastLimited!.sequence, lastLimited!.ltp],
            "the final value is the last published",
          );
          assert.ok(jumps(limitedSequences) > 0, "the skipped updates show as sequence jumps");

          const unlimitedSequences = sequencesOf(all(), unlimited!);
          assertIncreasing(unlimitedSequences, "the unlimited symbol");
          assert.equal(unlimitedSequences.at(-1), lastUnlimited!.sequence);
          // Publishes 10 ms apart, twice the flush window: nearly every one
          // gets a cycle of its own unless timers run late.
          assert.ok(
            unlimitedSequences.length > published / 2,
            `${unlimitedSequences.length} of ${published} updates without a limit`,
          );
        });

        for (const mode of [SnapshotMode.LTP, SnapshotMode.QUOTE, SnapshotMode.FULL]) {
          it(`carries exactly the fields of ${SnapshotMode[mode]} mode`, async () => {
            const [id] = await newSymbols(1);
            const [current] = await gateway.app.market.ingest([{ symbolId: id!, ltp: 101.25, volume: 3, depth: book(101.25) }]);
            const stream = open(subscriberCase, { symbolIds: [id!], mode });
            await receive(stream, (s) => s.length >= 1, "the current snapshot");
            const [update] = await gateway.app.market.ingest([
              { symbolId: id!, ltp: 101.5, volume: 2, depth: book(101.5), exchangeTimeMs: Date.UTC(2025, 0, 2, 3, 45, 0, 500) },
            ]);
            assert.equal(update!.depth.bids.length, 5);
            assert.equal(update!.depth.asks.length, 5);
            await receive(stream, (s) => s.some((x) => x.sequence === update!.sequence), "the pushed update");
            assert.deepEqual(
              stream.snapshots.map((s) => s.sequence),
              [current!.sequence, update!.sequence],
            );
            for (const [index, snapshot] of [current!, update!].entries()) {
              const expected = expectedMessage(snapshot, mode);
              const received = stream.snapshots[index]!.body;
              if (subscriberCase.wire === "message") {
                // What a protobuf client sees: every field, the ones the mode leaves out at their zero value.
                const options = { alwaysEmitImplicit: true };
                assert.deepEqual(toJson(SnapshotSchema, received as SnapshotMessage, options), toJson(SnapshotSchema, expected, options));
                assert.equal((received as SnapshotMessage).depth?.bids.length, mode === SnapshotMode.FULL ? 5 : undefined);
              } else if (mode === SnapshotMode.LTP) {
                // REST leaves LTP's other fields out rather than writing zeros that would read as prices.
                assert.deepEqual(Object.keys(received).sort(), ["exchangeTime", "ltp", "sequence", "symbolId"]);
                assert.deepEqual(received, toJson(SnapshotSchema, expected));
              } else {
                assert.deepEqual(received, toJson(SnapshotSchema, expected, { alwaysEmitImplicit: true }));
                assert.equal("depth" in received, mode === SnapshotMode.FULL);
              }
            }
          });
        }

        it("releases every symbol and the stream as soon as the client goes away", async () => {
          const ids = await newSymbols(3);
          const stream = open(subscriberCase, { symbolIds: ids });
          await receive(stream, (s) => s.length >= ids.length, "the current snapshots");
          assert.equal(gateway.app.market.hub.subscriptionCount, ids.length);
          assert.equal(await activeStreams(gateway.baseUrl), 1);
          await stream.close();
          await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 2000, "the symbols released");
          let active = await activeStreams(gateway.baseUrl);
          for (const deadline = Date.now() + 2000; active !== 0 && Date.now() < deadline; await sleep(20)) {
            active = await activeStreams(gateway.baseUrl);
          }
          assert.equal(active, 0, "grpc_active_streams back to 0");
        });
      });
    }

    for (const stalledCase of setup.stalled) {
      describe(`${stalledCase.name} to a client that stops reading`, () => {
        it("conflates, then sends each symbol's latest value with the skipped sequences showing as jumps", async () => {
          const ids = await newSymbols(3);
          const conflationsBefore = (await scrapeMetrics(gateway.baseUrl))("stockify_stream_conflations_total") ?? 0;
          // FULL mode: big messages fill the client's small window sooner.
          const stalled = stalledCase.open(gateway.baseUrl, { symbolIds: ids, mode: SnapshotMode.FULL });
          stalledStreams.push(stalled);
          const ours = () => [...gateway.app.market.subscriptions].find((s) => ids.every((id) => s.has(id)));
          await waitFor(() => ours() !== undefined, 5000, "the stream's subscription");
          const subscription = ours();
          let last: Snapshot[] = [];
          let published = 0;
          for (let round = 1; subscription!.conflatedCount < 30; round++) {
            assert.ok(round <= 2000, `the stream never held back after ${published} updates: it is buffered without bound`);
            const price = 100 + round / 100;
            last = await gateway.app.market.ingest(ids.map((symbolId) => ({ symbolId, ltp: price, depth: book(price) })));
            published += ids.length;
            await sleep(1);
          }
          const conflationsAfter = (await scrapeMetrics(gateway.baseUrl))("stockify_stream_conflations_total") ?? 0;
          assert.ok(conflationsAfter > conflationsBefore, `stockify_stream_conflations_total rose from ${conflationsBefore}`);

          stalled.resume();
          await waitFor(() => hasAll(stalled.snapshots, last), 5000, "every symbol's last published update");
          assert.ok(stalled.snapshots.length < published, `${stalled.snapshots.length} snapshots for ${published} updates`);
          let skipped = 0;
          for (const snapshot of last) {
            const sequences = sequencesOf(stalled.snapshots, snapshot.symbolId);
            assertIncreasing(sequences, `symbol ${snapshot.symbolId}`);
            assert.equal(sequences.at(-1), snapshot.sequence);
            skipped += jumps(sequences);
          }
          assert.ok(skipped > 0, "sequence jumps show the skipped updates");

          stalled.close();
          await waitFor(() => gateway.app.market.hub.subscriptionCount === 0, 2000, "the symbols released on hang-up");
        });
      });
    }
  });
}
