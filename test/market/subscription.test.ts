import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { SlowConsumerError } from "../../src/market/errors.js";
import { FRESH_LIMIT, Hub, type HubOptions } from "../../src/market/hub.js";
import { foldTick } from "../../src/market/snapshot.js";
import { Subscription, type SubscriptionOptions } from "../../src/market/subscription.js";
import { feed, recordingSink, sleep, turn, turns, type RecordingSink } from "../support/recording-sink.js";

interface Setup {
  hub: Hub;
  publish: ReturnType<typeof feed>;
  subscription: Subscription;
  sink: RecordingSink;
}

/**
 * A hub that runs a cycle on every turn of the event loop, a feed into it
 * and an attached subscription to the given symbols, all closed when the
 * test ends.
 */
function setup(t: TestContext, symbols: number[], options: SubscriptionOptions = {}, hubOptions: HubOptions = {}): Setup {
  const hub = new Hub({ flushWindowMs: 0, ...hubOptions });
  const subscription = new Subscription(hub, options);
  subscription.add(symbols);
  const sink = recordingSink();
  subscription.attach(sink);
  t.after(() => {
    subscription.close();
    hub.close();
  });
  return { hub, publish: feed(hub), subscription, sink };
}

/** Makes the sink refuse, and gets it a delivery to refuse, so the subscription holds back from then on. */
async function block({ publish, sink }: Setup, symbolId: number): Promise<void> {
  sink.accepting = false;
  publish(symbolId);
  await turn();
}

describe("Subscription", () => {
  it("passes updates of its symbols through in order, and nothing else", async (t) => {
    const { hub, publish, subscription, sink } = setup(t, []);
    assert.deepEqual(subscription.add([13, 25, 13]), [13, 25]);
    assert.deepEqual([...subscription.symbols].sort(), [13, 25]);
    publish(13);
    await turn();
    publish(27);
    publish(25);
    await turn();
    publish(13);
    await turn();
    assert.deepEqual(sink.labels(), ["13#1", "25#1", "13#2"]);
    assert.equal(subscription.pending, 0);
    assert.equal(hub.subscriberCount(27), 0);
  });

  it("delivers every update while the sink keeps up and updates come in separate cycles", async (t) => {
    const symbols = [1, 2, 3];
    const { publish, subscription, sink } = setup(t, symbols);
    for (let i = 0; i < 300; i++) {
      publish(symbols[i % symbols.length]!, 100 + i);
      await turn();
    }
    const every = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const id of symbols) assert.deepEqual(sink.sequencesOf(id), every, `symbol ${id}`);
    assert.equal(subscription.conflatedCount, 0);
  });

  it("holds back while the sink cannot take more, then delivers the latest of each symbol after resume", async (t) => {
    let conflations = 0;
    const setupResult = setup(t, [1, 2], { onConflate: (skipped) => (conflations += skipped) });
    const { publish, subscription, sink } = setupResult;
    await block(setupResult, 1);
    assert.deepEqual(sink.labels(), ["1#1"]);
    publish(1);
    await turn();
    publish(1);
    await turn();
    publish(2);
    await turn();
    publish(1);
    await turn();
    assert.deepEqual(sink.labels(), ["1#1"], "nothing reaches a sink that said it cannot take more");
    assert.equal(subscription.pending, 2);

    sink.accepting = true;
    subscription.resume();
    await turn();
    // The client sees the sequence jump from 1 to 4: 1#2 and 1#3 gave way to 1#4.
    assert.deepEqual(sink.batches.at(-1)?.map((s) => `${s.symbolId}#${s.sequence}`), ["1#4", "2#1"]);
    assert.equal(subscription.conflatedCount, 2);
    assert.equal(conflations, 2);
    publish(1);
    await turn();
    assert.deepEqual(sink.sequencesOf(1), [1, 4, 5]);
    assert.equal(subscription.closed, false);
  });

  it("takes a stream that cannot be written to out of the delivery cycles until it drains, counting what it misses", async (t) => {
    let conflations = 0;
    const setupResult = setup(t, [1, 2], { onConflate: (skipped) => (conflations += skipped) });
    const { hub, publish, subscription, sink } = setupResult;
    await block(setupResult, 1);
    // Parked: no interest left in the slots the cycles walk.
    assert.equal(hub.parkedCount, 1);
    assert.equal(hub.slotOf(1).interests.size, 0);
    assert.equal(hub.slotOf(2).interests.size, 0);
    assert.equal(hub.subscriberCount(1), 1, "still a receiver of the symbol");
    for (let i = 0; i < 5; i++) {
      publish(1);
      await turn();
    }
    assert.equal(conflations, 0, "nothing counted per cycle while parked");
    assert.equal(subscription.pending, 1);
    // Reading the count settles it: 1#2..1#5 gave way to 1#6.
    assert.equal(subscription.conflatedCount, 4);
    assert.equal(conflations, 4);

    sink.accepting = true;
    subscription.resume();
    await turn();
    assert.equal(hub.parkedCount, 0);
    assert.equal(hub.slotOf(1).interests.size, 1);
    assert.deepEqual(sink.sequencesOf(1), [1, 6]);
    assert.equal(subscription.conflatedCount, 4, "the jump is counted once");
    publish(2);
    await turn();
    assert.deepEqual(sink.sequencesOf(2), [1], "back in the cycles");
  });

  it("keeps a stream under the close policy in the cycles, counting every update against its buffer", async (t) => {
    const setupResult = setup(t, [1], { overflow: "close", bufferSize: 3 });
    const { hub, publish, sink } = setupResult;
    await block(setupResult, 1);
    assert.equal(hub.parkedCount, 0);
    assert.equal(hub.slotOf(1).interests.size, 1);
    for (let i = 0; i < 5; i++) {
      publish(1);
      await turn();
    }
    assert.ok(sink.closes[0] instanceof SlowConsumerError);
  });

  it("hands a stream that keeps up every update of a cycle, and only the latest past FRESH_LIMIT, counting the rest", async (t) => {
    let conflations = 0;
    const { publish, subscription, sink } = setup(t, [1], { onConflate: (skipped) => (conflations += skipped) });
    publish(1);
    await turn();
    for (let i = 0; i < 50; i++) publish(1);
    await turn();
    assert.deepEqual(sink.sequencesOf(1), Array.from({ length: 51 }, (_, i) => i + 1), "every update, in order");
    assert.equal(subscription.conflatedCount, 0);
    // More in one cycle than the hub hands on one by one: an overloaded
    // process conflates instead of queueing.
    for (let i = 0; i < 2 * FRESH_LIMIT; i++) publish(1);
    await turn();
    assert.deepEqual(sink.sequencesOf(1).slice(51), [51 + 2 * FRESH_LIMIT]);
    assert.equal(subscription.conflatedCount, 2 * FRESH_LIMIT - 1);
    assert.equal(conflations, 2 * FRESH_LIMIT - 1);
  });

  it("never lets a stale offered snapshot replace a newer one", async (t) => {
    const hub = new Hub({ flushWindowMs: 0 });
    const publish = feed(hub);
    const subscription = new Subscription(hub);
    t.after(() => {
      subscription.close();
      hub.close();
    });
    // Registered before the store is read, as a stream does; an update
    // lands between the read and the first delivery.
    subscription.add([1]);
    const read = publish(1);
    publish(1);
    await turn();
    const sink = recordingSink();
    subscription.attach(sink);
    subscription.offer(read);
    await turns(2);
    assert.deepEqual(sink.labels(), ["1#2"]);
    subscription.offer(read);
    await turns(2);
    assert.deepEqual(sink.labels(), ["1#2"], "an old copy offered later is not news");
    assert.equal(subscription.conflatedCount, 0, "the stream skipped nothing it did not already have");
  });

  it("delivers a new stream's initial snapshots once, without counting them as conflation", async (t) => {
    let conflations = 0;
    const { subscription, sink } = setup(t, [5, 6], { onConflate: (skipped) => (conflations += skipped) });
    // The store's snapshots, newer than anything the hub has seen.
    const five = foldTick(foldTick(undefined, { symbolId: 5, ltp: 1 }, 0), { symbolId: 5, ltp: 2 }, 0);
    const six = foldTick(undefined, { symbolId: 6, ltp: 1 }, 0);
    subscription.offer(five);
    subscription.offer(six);
    await turns(3);
    assert.deepEqual(sink.labels(), ["5#2", "6#1"]);
    assert.equal(subscription.conflatedCount, 0);
    assert.equal(conflations, 0);
  });

  it("stays bounded by its number of symbols however many updates arrive while it is held back", async (t) => {
    const symbols = Array.from({ length: 10 }, (_, i) => i + 1);
    const setupResult = setup(t, symbols);
    const { publish, subscription, sink } = setupResult;
    await block(setupResult, 1);
    let mostPending = 0;
    for (let i = 1; i < 100_000; i++) {
      publish(symbols[i % symbols.length]!, 100 + i);
      if (i % 1000 === 0) {
        await turn();
        mostPending = Math.max(mostPending, subscription.pending);
      }
    }
    await turn();
    mostPending = Math.max(mostPending, subscription.pending);
    assert.ok(mostPending <= symbols.length, `${mostPending} pending`);
    sink.accepting = true;
    subscription.resume();
    await turn();
    assert.ok(subscription.conflatedCount > 0);
    // Every symbol's newest update survives, once.
    const last = sink.batches.at(-1)!;
    assert.equal(last.length, symbols.length);
    for (const snapshot of last) assert.equal(snapshot.sequence, 10_000, `symbol ${snapshot.symbolId}`);
  });

  it("under the close policy, ends a held-back stream that falls bufferSize updates behind with SlowConsumerError", async (t) => {
    let closes = 0;
    const setupResult = setup(t, [1, 2], { bufferSize: 2, overflow: "close", onClose: () => closes++ });
    const { hub, publish, subscription, sink } = setupResult;
    await block(setupResult, 1);
    publish(1);
    await turn();
    publish(2);
    await turn();
    assert.equal(subscription.closed, false, "two updates behind is within a buffer of two");
    publish(1);
    await turn();
    assert.equal(subscription.closed, true);
    assert.equal(sink.closes.length, 1);
    const error = sink.closes[0];
    assert.ok(error instanceof SlowConsumerError);
    assert.equal(error.bufferSize, 2);
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(subscription.pending, 0);
    subscription.close();
    assert.equal(closes, 1, "the owner closing it again changes nothing");
    assert.equal(sink.closes.length, 1);
  });

  it("under the close policy, counts a burst within one cycle update by update", async (t) => {
    const setupResult = setup(t, [1], { bufferSize: 2, overflow: "close" });
    const { publish, subscription, sink } = setupResult;
    await block(setupResult, 1);
    for (let i = 0; i < 3; i++) publish(1);
    await turn();
    assert.equal(subscription.closed, true, "three updates behind is past a buffer of two");
    assert.ok(sink.closes[0] instanceof SlowConsumerError);
  });

  it("under the close policy, keeps a stream open however many updates it takes as they come", async (t) => {
    const { publish, subscription, sink } = setup(t, [1], { bufferSize: 2, overflow: "close" });
    for (let i = 0; i < 10; i++) {
      publish(1);
      await turn();
    }
    assert.equal(subscription.closed, false);
    assert.equal(sink.sequencesOf(1).length, 10);
  });

  it("drops what was pending of a symbol when it is removed, and can take it back", async (t) => {
    const hub = new Hub({ flushWindowMs: 0 });
    const publish = feed(hub);
    const subscription = new Subscription(hub);
    t.after(() => {
      subscription.close();
      hub.close();
    });
    subscription.add([1, 2]);
    publish(1);
    publish(2);
    await turn();
    assert.equal(subscription.pending, 2, "no sink yet: both wait");
    assert.deepEqual(subscription.remove([1, 99]), [1]);
    assert.deepEqual([...subscription.symbols], [2]);
    assert.equal(subscription.has(1), false);
    assert.equal(hub.subscriberCount(1), 0);
    assert.equal(subscription.pending, 1);
    publish(1);
    await turn();
    assert.equal(subscription.pending, 1);
    const sink = recordingSink();
    subscription.attach(sink);
    await turn();
    assert.deepEqual(sink.labels(), ["2#1"]);

    // Taken back, the symbol's current snapshot is news again, once.
    assert.deepEqual(subscription.add([1]), [1]);
    subscription.offer(publish(1));
    await turns(2);
    publish(1);
    await turn();
    assert.deepEqual(sink.labels(), ["2#1", "1#3", "1#4"]);
  });

  it("stays bounded while a held-back stream keeps taking symbols and letting them go", async (t) => {
    const setupResult = setup(t, [1]);
    const { publish, subscription } = setupResult;
    await block(setupResult, 1);
    for (let i = 0; i < 1000; i++) {
      subscription.add([2]);
      publish(2);
      await turn();
      subscription.remove([2]);
    }
    assert.ok(subscription.pending <= 1, `${subscription.pending} pending`);
  });

  it("releases every symbol and tells its sink and its owner, once, when closed", async (t) => {
    let closes = 0;
    const { hub, publish, subscription, sink } = setup(t, [1, 2, 3], { onClose: () => closes++ });
    const other = new Subscription(hub);
    t.after(() => other.close());
    other.add([3, 5]);
    publish(1);
    assert.equal(hub.subscriptionCount, 5);
    subscription.close();
    subscription.close();
    assert.equal(subscription.closed, true);
    assert.equal(closes, 1);
    assert.deepEqual(sink.closes, [undefined]);
    assert.equal(hub.subscriptionCount, 2);
    assert.equal(hub.subscriberCount(3), 1);
    assert.equal(subscription.pending, 0);
    other.close();
    assert.equal(hub.subscriptionCount, 0);
    assert.deepEqual([...hub.symbolIds()], []);

    // Nothing reaches a closed subscription, and it takes nothing new.
    assert.deepEqual(subscription.add([1]), []);
    assert.equal(hub.subscriptionCount, 0);
    subscription.offer(publish(1));
    await turn();
    assert.deepEqual(sink.labels(), []);
    const late = recordingSink();
    subscription.attach(late);
    assert.deepEqual(late.closes, [undefined], "a sink attached too late hears at once that it is over");
  });

  it("passes the error that closed it to its sink", (t) => {
    const { subscription, sink } = setup(t, [1]);
    const gone = new Error("gone");
    subscription.close(gone);
    assert.deepEqual(sink.closes, [gone]);
  });

  it("delivers at most maxUpdatesPerSecond updates of a symbol a second, ending with the latest", async (t) => {
    const { hub, publish, subscription, sink } = setup(t, []);
    subscription.add([1], { maxUpdatesPerSecond: 20 });
    subscription.add([2]);
    const started = performance.now();
    let last = 0;
    let unlimited = 0;
    while (unlimited < 40 || performance.now() - started < 300) {
      last = publish(1).sequence;
      publish(2);
      unlimited++;
      // A turn first: a timer alone may fire before the cycle on a busy machine.
      await turn();
      await sleep(2);
    }
    // The last update waits out the rest of its interval, then goes.
    await sleep(120);
    const delivered = sink.sequencesOf(1);
    assert.equal(delivered.at(-1), last, "the latest update arrives");
    assert.ok(delivered.every((seq, i) => i === 0 || seq > delivered[i - 1]!), "in order");
    const times = sink.batches.flatMap((batch, i) => (batch.some((s) => s.symbolId === 1) ? [sink.times[i]!] : []));
    const span = times.at(-1)! - times[0]!;
    // One every 50 ms; one more allowed for the clocks of the test and the hub differing.
    const allowed = 2 + Math.floor(span / 50);
    assert.ok(delivered.length <= allowed, `${delivered.length} deliveries over ${span.toFixed(0)} ms, at most ${allowed}`);
    assert.ok(delivered.length >= 3, `${delivered.length} deliveries of ${last} updates: nothing between the first and the last`);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      assert.ok(gap >= 25, `deliveries ${i - 1} and ${i} ${gap.toFixed(1)} ms apart`);
    }
    // The rate is per symbol: the other one is not held back.
    assert.equal(sink.sequencesOf(2).length, unlimited);
    assert.equal(hub.subscriptionCount, 2);
  });

  it("records the field mode each symbol was subscribed with", (t) => {
    const { subscription } = setup(t, []);
    subscription.add([1], { mode: "ltp" });
    subscription.add([2, 3], { mode: "full" });
    subscription.add([4]);
    assert.equal(subscription.modeOf(1), "ltp");
    assert.equal(subscription.modeOf(2), "full");
    assert.equal(subscription.modeOf(3), "full");
    assert.equal(subscription.modeOf(4), "quote");
    assert.equal(subscription.modeOf(99), "quote");
    assert.deepEqual(subscription.add([1], { mode: "full" }), [], "a symbol already held is not added again");
    assert.equal(subscription.modeOf(1), "ltp");
    assert.equal(subscription.size, 4);
  });
});
