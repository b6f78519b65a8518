import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StreamBudget } from "../../src/pipeline/stream-budget.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { scrapeMetrics } from "../support/prometheus.js";
import { stalledSubscriber } from "../support/stalled-subscriber.js";
import { watchSnapshots } from "../support/snapshot-stream.js";
import { waitFor } from "../support/transports.js";

describe("StreamBudget", () => {
  it("ends the stream holding the most once stuck streams together hold more than the budget", () => {
    const evicted: string[] = [];
    let evictions = 0;
    const budget = new StreamBudget(100, () => evictions++);
    const stream = (name: string) => ({ evict: () => evicted.push(name) });
    const a = stream("a");
    const b = stream("b");
    const c = stream("c");
    budget.hold(a, 40);
    budget.hold(b, 50);
    assert.equal(budget.bytes, 90);
    assert.deepEqual(evicted, []);
    budget.hold(c, 30);
    assert.deepEqual(evicted, ["b"], "the largest holder goes");
    assert.equal(budget.bytes, 70);
    assert.equal(evictions, 1);
    budget.release(a);
    budget.release(a);
    assert.equal(budget.bytes, 30, "a release counts once");
  });

  it("has no limit at 0", () => {
    const budget = new StreamBudget(0);
    budget.hold({ evict: () => assert.fail("evicted") }, 1e12);
    assert.equal(budget.bytes, 1e12);
  });
});

const SYMBOLS = Array.from({ length: 60 }, (_, i) => 1 + i);

describe("stuck streams over the gateway's budget", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway(
      { STREAM_BUFFER_BUDGET_MB: "1", HEARTBEAT_INTERVAL_MS: "0" },
      { seed: SYMBOLS.map((symbolId) => ({ symbolId, symbol: `S${symbolId}`, ltp: 100 })) },
    );
  });
  after(() => gateway.close());

  it("ends the worst of them with RESOURCE_EXHAUSTED, keeps the total bounded, and serves a healthy reader throughout", async () => {
    const healthy = watchSnapshots(gateway.baseUrl, [1]);
    const stuck = Array.from({ length: 80 }, () => stalledSubscriber(gateway.baseUrl, SYMBOLS));
    try {
      await waitFor(() => gateway.app.market.subscriptions.size === 81, 10_000, "every stream open");
      let metric = await scrapeMetrics(gateway.baseUrl);
      for (let round = 1; (metric("stockify_stream_budget_evictions_total") ?? 0) === 0; round++) {
        assert.ok(round < 500, "stuck streams were never ended: their buffers grow without bound");
        await gateway.app.market.ingest(SYMBOLS.map((symbolId) => ({ symbolId, ltp: 100 + round / 100, volume: round })));
        await new Promise((resolve) => setTimeout(resolve, 6));
        if (round % 10 === 0) metric = await scrapeMetrics(gateway.baseUrl);
      }
      metric = await scrapeMetrics(gateway.baseUrl);
      assert.ok(metric("stockify_stream_buffered_bytes")! <= 1024 * 1024, `${metric("stockify_stream_buffered_bytes")} bytes held`);
      await waitFor(() => gateway.app.market.subscriptions.size < 81, 5000, "an evicted stream released");
      const last = await gateway.app.market.ingest([{ symbolId: 1, ltp: 123.45 }]);
      await waitFor(() => healthy.snapshots.some((s) => s.sequence === BigInt(last[0]!.sequence)), 5000, "the healthy reader's update");
    } finally {
      for (const s of stuck) s.close();
      await healthy.stop();
    }
  });
});
