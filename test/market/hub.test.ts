import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Hub, type HubOptions } from "../../src/market/hub.js";
import { foldTick } from "../../src/market/snapshot.js";
import { Subscription } from "../../src/market/subscription.js";
import { feed, recordingSink, sleep, turn, turns, type RecordingSink } from "../support/recording-sink.js";

/** A hub closed when the test ends, with every subscription opened through it. */
function openHub(t: TestContext, options: HubOptions = { flushWindowMs: 0 }) {
  const hub = new Hub(options);
  const opened: Subscription[] = [];
  t.after(() => {
    for (const subscription of opened) subscription.close();
    hub.close();
  });
  /** A subscription to the given symbols delivering to a recording sink. */
  const stream = (symbols: number[]): { subscription: Subscription; sink: RecordingSink } => {
    const subscription = new Subscription(hub);
    opened.push(subscription);
    subscription.add(symbols);
    const sink = recordingSink();
    subscription.attach(sink);
    return { subscription, sink };
  };
  return { hub, publish: feed(hub), stream };
}

describe("Hub", () => {
  it("delivers an update to exactly the subscribers of its symbol, the same object to each", async (t) => {
    const { publish, stream } = openHub(t);
    const a = stream([13]);
    const b = stream([13, 25]);
    const c = stream([27]);
    const nifty = publish(13);
    publish(25);
    await turn();
    assert.deepEqual(a.sink.labels(), ["13#1"]);
    assert.deepEqual(b.sink.labels(), ["13#1", "25#1"]);
    assert.deepEqual(c.sink.labels(), []);
    // Nothing is copied per stream, so each update can be encoded once for all.
    assert.equal(a.sink.batches[0]![0], nifty);
    assert.equal(b.sink.batches[0]![0], nifty);
  });

  it("ignores updates nobody asked for", async (t) => {
    const { hub, publish, stream } = openHub(t);
    const a = stream([13]);
    publish(1);
    await turn();
    assert.deepEqual(a.sink.labels(), []);
    assert.deepEqual([...hub.symbolIds()], [13]);
    assert.equal(hub.subscriptionCount, 1);
  });

  it("keeps only the newest snapshot of a symbol, ignoring older and repeated ones", async (t) => {
    const { hub, stream } = openHub(t);
    const a = stream([1]);
    const first = foldTick(undefined, { symbolId: 1, ltp: 1 }, 0);
    const second = foldTick(first, { symbolId: 1, ltp: 2 }, 0);
    hub.publish(second);
    hub.publish(first);
    await turn();
    hub.publish(second);
    hub.publish(first);
    await turn();
    assert.deepEqual(a.sink.labels(), ["1#2"]);
  });

  it("registers a stream once per symbol", (t) => {
    const { hub, stream } = openHub(t);
    const a = stream([13]);
    assert.deepEqual(a.subscription.add([13]), []);
    assert.equal(hub.subscriberCount(13), 1);
    assert.equal(hub.subscriptionCount, 1);
  });

  it("counts subscriptions down to zero as streams let go", (t) => {
    const { hub, stream } = openHub(t);
    const a = stream([13, 25]);
    const b = stream([13]);
    assert.equal(hub.subscriptionCount, 3);
    assert.equal(hub.subscriberCount(13), 2);
    assert.deepEqual(a.subscription.remove([13]), [13]);
    assert.deepEqual(a.subscription.remove([13, 99]), []);
    assert.equal(hub.subscriberCount(13), 1);
    a.subscription.close();
    b.subscription.remove([13]);
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(hub.subscriberCount(13), 0);
    assert.deepEqual([...hub.symbolIds()], []);
  });

  it("hands each stream one batch per cycle, with the latest update of each symbol that changed", async (t) => {
    const { publish, stream } = openHub(t);
    const streams = [stream([1, 2, 3]), stream([1, 2, 3]), stream([2])];
    for (let i = 0; i < 1000; i++) publish((i % 3) + 1);
    await turn();
    for (const { sink } of streams.slice(0, 2)) {
      assert.equal(sink.batches.length, 1);
      assert.deepEqual(sink.labels(), ["1#334", "2#333", "3#333"]);
    }
    assert.deepEqual(streams[2]!.sink.batches.map((batch) => batch.length), [1]);
  });

  it("sends an update after a quiet spell at once, and gathers those that follow within the flush window", async (t) => {
    const { publish, stream } = openHub(t, { flushWindowMs: 200 });
    const { sink } = stream([1, 2, 3]);
    publish(1);
    await turn();
    assert.deepEqual(sink.labels(), ["1#1"], "the first update does not wait for a window");
    // Several publishes spread over turns of the loop, all within one window.
    publish(2);
    await turn();
    publish(3);
    await turn();
    publish(1);
    assert.equal(sink.batches.length, 1, "the rest wait for the window to close");
    await sleep(260);
    assert.deepEqual(
      sink.batches.map((batch) => batch.map((s) => `${s.symbolId}#${s.sequence}`)),
      [["1#1"], ["2#1", "3#1", "1#2"]],
    );
    assert.ok(sink.times[1]! - sink.times[0]! >= 190, "one window after the first");
  });

  it("does not let a stream that cannot take more hold back the others", async (t) => {
    const { publish, stream } = openHub(t);
    const stalled = stream([1, 2]);
    const reader = stream([1, 2]);
    stalled.sink.accepting = false;
    for (let i = 0; i < 200; i++) {
      publish((i % 2) + 1);
      await turn();
    }
    assert.equal(stalled.sink.batches.length, 1);
    assert.ok(stalled.subscription.pending <= 2);
    assert.equal(reader.sink.sequencesOf(1).length, 100);
    assert.equal(reader.sink.sequencesOf(2).length, 100);
  });

  it("sends heartbeats to a quiet attached stream", async (t) => {
    const { stream } = openHub(t, { flushWindowMs: 0, heartbeatMs: 30 });
    const attachedAt = performance.now();
    const quiet = stream([1]);
    while (quiet.sink.heartbeats === 0 && performance.now() - attachedAt < 2000) await sleep(1);
    const first = performance.now() - attachedAt;
    assert.equal(quiet.sink.heartbeats, 1);
    assert.ok(first >= 25, `first heartbeat after ${first.toFixed(1)} ms`);
    await sleep(150);
    assert.ok(quiet.sink.heartbeats >= 3, `${quiet.sink.heartbeats} heartbeats`);
    assert.deepEqual(quiet.sink.batches, []);
  });

  it("sends no heartbeat while updates keep a stream busy", async (t) => {
    const { publish, stream } = openHub(t, { flushWindowMs: 0, heartbeatMs: 250 });
    const busy = stream([1]);
    const idle = stream([2]);
    const started = performance.now();
    while (performance.now() - started < 500) {
      publish(1);
      await sleep(10);
    }
    assert.equal(busy.sink.heartbeats, 0);
    assert.ok(busy.sink.sequencesOf(1).length >= 10);
    assert.ok(idle.sink.heartbeats >= 1, "the idle stream beside it gets its heartbeats");
  });

  it("sends a held-back stream no heartbeat until it resumes", async (t) => {
    const { publish, stream } = openHub(t, { flushWindowMs: 0, heartbeatMs: 30 });
    const held = stream([1]);
    held.sink.accepting = false;
    publish(1);
    await sleep(150);
    assert.equal(held.sink.heartbeats, 0);
    held.sink.accepting = true;
    held.subscription.resume();
    await sleep(150);
    assert.ok(held.sink.heartbeats >= 1);
  });

  it("follows a store that came back without its data, numbering a symbol from 1 again", async (t) => {
    const { hub, publish, stream } = openHub(t);
    const { sink } = stream([1]);
    publish(1);
    await turn();
    publish(1);
    await turn();
    assert.deepEqual(sink.sequencesOf(1), [1, 2]);

    const restarted = foldTick(undefined, { symbolId: 1, ltp: 5 }, 0);
    hub.publish(restarted);
    await turn();
    assert.deepEqual(sink.sequencesOf(1), [1, 2], "a lower sequence number alone is taken for a stale update");
    hub.resync(1, restarted);
    await turn();
    assert.equal(sink.batches.at(-1)![0], restarted, "until the store confirms it after an outage");
    hub.publish(foldTick(restarted, { symbolId: 1, ltp: 6 }, 0));
    await turn();
    assert.deepEqual(sink.sequencesOf(1), [1, 2, 1, 2]);

    // A symbol the store lost altogether takes whatever comes next.
    hub.resync(1, undefined);
    await turn();
    const reborn = foldTick(undefined, { symbolId: 1, ltp: 7 }, 0);
    hub.publish(reborn);
    await turn();
    assert.equal(sink.batches.at(-1)![0], reborn);
    assert.deepEqual(sink.sequencesOf(1), [1, 2, 1, 2, 1]);
  });

  it("after a store outage sends each stream what it missed, and nothing it already has", async (t) => {
    const { hub, publish, stream } = openHub(t);
    const { sink } = stream([1, 2]);
    const one = publish(1);
    publish(2);
    await turn();
    // Updates of symbol 2 published while the store was unreachable never arrived.
    const missed = foldTick(foldTick(sink.batches[0]![1], { symbolId: 2, ltp: 1 }, 0), { symbolId: 2, ltp: 2 }, 0);
    hub.resync(1, one);
    hub.resync(2, missed);
    await turns(2);
    assert.deepEqual(sink.labels(), ["1#1", "2#1", "2#3"]);
  });
});
