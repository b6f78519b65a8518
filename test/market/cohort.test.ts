import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Hub } from "../../src/market/hub.js";
import { Subscription, type InterestOptions } from "../../src/market/subscription.js";
import { feed, recordingSink, turn } from "../support/recording-sink.js";

/**
 * Opens a stream the way the service does: symbols added, their current
 * snapshots offered, then the sink attached.
 */
function open(t: TestContext, hub: Hub, current: ReturnType<ReturnType<typeof feed>>[], options: InterestOptions = {}) {
  const subscription = new Subscription(hub);
  subscription.add(
    current.map((s) => s.symbolId),
    options,
  );
  for (const snapshot of current) subscription.offer(snapshot);
  const sink = recordingSink();
  subscription.attach(sink);
  t.after(() => subscription.close());
  return { subscription, sink };
}

function setup(t: TestContext) {
  const hub = new Hub({ flushWindowMs: 0 });
  t.after(() => hub.close());
  const publish = feed(hub);
  return { hub, publish };
}

describe("Cohort", () => {
  it("serves streams alike as one: each gets its starting snapshots, then every update, in one shared batch", async (t) => {
    const { hub, publish } = setup(t);
    // The store's current snapshots, as the service reads them.
    const current = [publish(1), publish(2)];
    const a = open(t, hub, current);
    const b = open(t, hub, current);
    assert.equal(hub.cohortCount, 1);
    assert.deepEqual(a.sink.labels(), ["1#1", "2#1"]);
    assert.deepEqual(b.sink.labels(), ["1#1", "2#1"]);
    // Counted as two streams of two symbols, whatever serves them.
    assert.equal(hub.subscriptionCount, 4);
    assert.equal(hub.subscriberCount(1), 2);

    publish(1);
    publish(2);
    publish(1);
    await turn();
    for (const { sink } of [a, b]) assert.deepEqual(sink.labels(), ["1#1", "2#1", "1#2", "1#3", "2#2"]);
  });

  it("hands every member the very same frozen batch, so that it is encoded once", async (t) => {
    const { hub, publish } = setup(t);
    const current = [publish(1)];
    const seen: (readonly unknown[])[] = [];
    for (let i = 0; i < 3; i++) {
      const subscription = new Subscription(hub);
      subscription.add([1]);
      subscription.offer(current[0]!);
      subscription.attach({ ...recordingSink(), deliver: (updates) => seen.push(updates) > 0 });
      t.after(() => subscription.close());
    }
    seen.length = 0;
    publish(1);
    await turn();
    assert.equal(seen.length, 3);
    assert.ok(seen.every((batch) => batch === seen[0]) && Object.isFrozen(seen[0]));
  });

  it("lets a member that cannot take more go on alone, conflating, while the others get everything", async (t) => {
    const { hub, publish } = setup(t);
    const current = [publish(1)];
    const fast = open(t, hub, current);
    const slow = open(t, hub, current);
    slow.sink.accepting = false;
    publish(1);
    await turn();
    assert.deepEqual(slow.sink.labels(), ["1#1", "1#2"], "the batch it refused was still written");
    for (let i = 0; i < 10; i++) {
      publish(1);
      await turn();
    }
    assert.deepEqual(fast.sink.sequencesOf(1), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.deepEqual(slow.sink.sequencesOf(1), [1, 2], "nothing reaches a sink that said it cannot take more");
    slow.sink.accepting = true;
    slow.subscription.resume();
    await turn();
    assert.deepEqual(slow.sink.sequencesOf(1), [1, 2, 12], "the latest, with a jump over what it missed");
    assert.equal(slow.subscription.conflatedCount, 9);
    assert.equal(fast.subscription.conflatedCount, 0);
    publish(1);
    await turn();
    assert.deepEqual(slow.sink.sequencesOf(1).at(-1), 13);
    assert.deepEqual(fast.sink.sequencesOf(1).at(-1), 13);
  });

  it("starts a stream that joins late from what the cohort delivered last", async (t) => {
    const { hub, publish } = setup(t);
    const first = open(t, hub, [publish(1)]);
    publish(1);
    publish(1);
    await turn();
    const late = open(t, hub, [publish(1)]);
    await turn();
    assert.deepEqual(first.sink.sequencesOf(1), [1, 2, 3, 4]);
    // Joined at 3, the cohort's last delivery, then got 4 with everyone.
    assert.deepEqual(late.sink.sequencesOf(1), [3, 4]);
  });

  it("keeps streams with other symbols, modes or rates apart", (t) => {
    const { hub, publish } = setup(t);
    const one = [publish(1)];
    open(t, hub, one);
    open(t, hub, [...one, publish(2)]);
    open(t, hub, one, { mode: "ltp" });
    open(t, hub, one, { maxUpdatesPerSecond: 5 });
    assert.equal(hub.cohortCount, 4);
  });

  it("goes away with its last member, leaving no symbol registered", async (t) => {
    const { hub, publish } = setup(t);
    const current = [publish(1), publish(2)];
    const a = open(t, hub, current);
    const b = open(t, hub, current);
    a.subscription.close();
    assert.equal(hub.cohortCount, 1);
    b.subscription.close();
    assert.equal(hub.cohortCount, 0);
    assert.equal(hub.subscriptionCount, 0);
    assert.deepEqual([...hub.symbolIds()], []);
    publish(1);
    await turn();
    assert.deepEqual(b.sink.labels(), ["1#1", "2#1"]);
  });

  it("sends its members heartbeats on a quiet market", async (t) => {
    const hub = new Hub({ flushWindowMs: 0, heartbeatMs: 30 });
    t.after(() => hub.close());
    const publish = feed(hub);
    const current = [publish(1)];
    const a = open(t, hub, current);
    const b = open(t, hub, current);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.ok(a.sink.heartbeats > 0 && b.sink.heartbeats > 0, `${a.sink.heartbeats} and ${b.sink.heartbeats} heartbeats`);
  });

  it("lets a member that changes its symbols go on alone without a gap or a repeat", async (t) => {
    const { hub, publish } = setup(t);
    const current = [publish(1)];
    open(t, hub, current);
    const b = open(t, hub, current);
    publish(1);
    await turn();
    b.subscription.add([2]);
    b.subscription.offer(publish(2));
    publish(1);
    await turn();
    assert.deepEqual(b.sink.labels(), ["1#1", "1#2", "2#1", "1#3"]);
  });
});
