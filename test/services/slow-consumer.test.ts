import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Tick } from "../../src/market/snapshot.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { scrapeMetrics } from "../support/prometheus.js";
import { watchSnapshots, type SnapshotStream } from "../support/snapshot-stream.js";
import { stalledSubscriber } from "../support/stalled-subscriber.js";
import { waitFor } from "../support/transports.js";

const SYMBOLS = Array.from({ length: 50 }, (_, i) => 1 + i);
const BUFFER = 200;

const seed: Tick[] = SYMBOLS.map((symbolId) => ({ symbolId, symbol: `S${symbolId}`, ltp: 100 }));

/** Opens the fast reader, then the stalled one, and tells their server-side subscriptions apart. */
async function openPair(gateway: TestGateway) {
  const fast = watchSnapshots(gateway.baseUrl, SYMBOLS);
  await waitFor(() => fast.snapshots.length === SYMBOLS.length, 5000, "the fast reader's snapshots");
  const [fastSide] = gateway.app.market.subscriptions;
  const slow = stalledSubscriber(gateway.baseUrl, SYMBOLS);
  await waitFor(() => gateway.app.market.subscriptions.size === 2, 5000, "the stalled stream");
  const slowSide = [...gateway.app.market.subscriptions].find((s) => s !== fastSide)!;
  return { fast, slow, fastSide: fastSide!, slowSide };
}

/** Publishes one tick per symbol, then lets the fast reader take the round. */
async function publishRound(gateway: TestGateway, round: number, fast: SnapshotStream) {
  await gateway.app.market.ingest(SYMBOLS.map((symbolId) => ({ symbolId, ltp: 100 + round, volume: 1 })));
  await waitFor(() => fast.snapshots.length === SYMBOLS.length * (round + 1), 5000, `the fast reader to take round ${round}`);
}

// Both ways a gRPC stream is written: the lean lane and Connect's handler.
for (const lane of ["on", "off"]) {
  describe(`a subscriber that stops reading (GRPC_LANE=${lane})`, () => {
    let conflating: TestGateway;
    let closing: TestGateway;
    before(async () => {
      const env = { STREAM_BUFFER_SIZE: String(BUFFER), HEARTBEAT_INTERVAL_MS: "0", GRPC_LANE: lane };
      conflating = await startGateway(env, { seed });
      closing = await startGateway({ ...env, SLOW_CONSUMER_POLICY: "close" }, { seed });
    });
    after(async () => {
      await conflating.close();
      await closing.close();
    });

    it("gets the latest snapshot per symbol with sequence gaps, in bounded memory, while a fast reader gets everything", async () => {
      const { fast, slow, fastSide, slowSide } = await openPair(conflating);
      const rounds = 100;
      let maxPending = 0;
      for (let round = 1; round <= rounds; round++) {
        await publishRound(conflating, round, fast);
        maxPending = Math.max(maxPending, slowSide.pending);
      }
      assert.ok(slowSide.conflatedCount > 0, "the stalled stream was conflated");
      assert.equal(fastSide.conflatedCount, 0, "the fast stream was not");
      assert.ok(maxPending <= BUFFER + SYMBOLS.length, `queue bounded (at most ${maxPending})`);
      const metric = (await scrapeMetrics(conflating.baseUrl))("stockify_stream_conflations_total");
      assert.equal(metric, slowSide.conflatedCount, "conflations counted in metrics");

      // The fast reader saw every update of every symbol, with no gap.
      for (const id of SYMBOLS) {
        const sequences = fast.snapshots.filter((s) => s.symbolId === id).map((s) => Number(s.sequence));
        assert.deepEqual(sequences, Array.from({ length: rounds + 1 }, (_, i) => i + 1));
      }
      await fast.stop();

      // The stalled reader, once it reads, finds every symbol's latest state
      // and can tell from the sequence numbers what it missed.
      slow.resume();
      const last = rounds + 1;
      await waitFor(
        () => SYMBOLS.every((id) => slow.snapshots.some((s) => s.symbolId === id && Number(s.sequence) === last)),
        5000,
        "every symbol's latest update on the stalled stream",
      );
      slow.close();
      const { snapshots } = slow;
      assert.ok(snapshots.length < SYMBOLS.length * (rounds + 1), `fewer updates (${snapshots.length}) than published`);
      let gaps = 0;
      for (const id of SYMBOLS) {
        const sequences = snapshots.filter((s) => s.symbolId === id).map((s) => Number(s.sequence));
        for (let i = 1; i < sequences.length; i++) {
          assert.ok(sequences[i]! > sequences[i - 1]!, `symbol ${id}: ${sequences[i]} after ${sequences[i - 1]}`);
          if (sequences[i]! > sequences[i - 1]! + 1) gaps++;
        }
      }
      assert.ok(gaps > 0, "sequence gaps show the skipped updates");
    });

    it("is ended with RESOURCE_EXHAUSTED under the close policy, while the fast reader carries on", async () => {
      const { fast, slow, slowSide } = await openPair(closing);
      let round = 0;
      while (!slowSide.closed) {
        round++;
        assert.ok(round < 1000, "the stalled stream is closed eventually");
        await publishRound(closing, round, fast);
      }
      slow.resume();
      await slow.ended;
      assert.equal(slow.status, "8", "grpc-status RESOURCE_EXHAUSTED");
      slow.close();
      assert.equal((await scrapeMetrics(closing.baseUrl))("stockify_slow_consumer_closes_total"), 1);
      await closing.app.market.ingest([{ symbolId: 1, ltp: 1 }]);
      await waitFor(() => fast.snapshots.at(-1)?.ltp === 1, 5000, "the fast reader still served");
      await fast.stop();
    });
  });
}
