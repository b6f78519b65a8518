import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SlowConsumerError } from "../../src/market/errors.js";
import { Hub } from "../../src/market/hub.js";
import { foldTick, type Snapshot } from "../../src/market/snapshot.js";
import { HEARTBEAT, Subscription, WAKE, type SubscriptionEvent, type SubscriptionOptions } from "../../src/market/subscription.js";

/** Feeds the hub the way the store does: one immutable snapshot per update, sequences counting up. */
function feed(hub: Hub) {
  const last = new Map<number, Snapshot>();
  return (symbolId: number, ltp = 100): Snapshot => {
    const next = foldTick(last.get(symbolId), { symbolId, ltp }, 0);
    last.set(symbolId, next);
    hub.publish(next);
    return next;
  };
}

/** A hub, a feed into it and a subscription to the given symbols. */
function setup(symbols: number[], options: SubscriptionOptions = {}) {
  const hub = new Hub();
  const subscription = new Subscription(hub, options);
  subscription.add(symbols);
  return { hub, publish: feed(hub), subscription };
}

/** Reads the next `count` events, as the stream's writer would. */
async function take(subscription: Subscription, count: number): Promise<SubscriptionEvent[]> {
  const events: SubscriptionEvent[] = [];
  while (events.length < count) {
    const result = await subscription.next();
    if (result.done === true) break;
    events.push(result.value);
  }
  return events;
}

const label = (e: SubscriptionEvent) => (typeof e === "symbol" ? e.description : `${e.symbolId}#${e.sequence}`);

describe("Subscription", () => {
  it("passes updates of its symbols through in order, and nothing else", async () => {
    const hub = new Hub();
    const publish = feed(hub);
    const subscription = new Subscription(hub);
    assert.deepEqual(subscription.add([13, 25, 13]), [13, 25]);
    publish(13);
    publish(27);
    publish(25);
    publish(13);
    assert.deepEqual((await take(subscription, 3)).map(label), ["13#1", "25#1", "13#2"]);
    assert.equal(subscription.pending, 0);
    subscription.close();
  });

  it("hands an update straight to a reader that is waiting", async () => {
    const { publish, subscription } = setup([13]);
    const read = subscription.next();
    const sent = publish(13);
    const result = await read;
    assert.equal(result.value, sent);
    assert.equal(subscription.pending, 0);
    subscription.close();
  });

  it("skips an update older than or equal to what the reader already has", async () => {
    const { publish, subscription } = setup([13]);
    const first = publish(13);
    const second = publish(13);
    // The initial read of the store raced the update: both copies arrive.
    subscription.deliver(second);
    subscription.deliver(first);
    assert.deepEqual((await take(subscription, 2)).map(label), ["13#1", "13#2"]);
    // The stale copies still queued are skipped, and so is one arriving while the reader waits.
    const read = subscription.next();
    subscription.deliver(second);
    const third = publish(13);
    assert.equal((await read).value, third);
    subscription.close();
  });

  it("keeps only the latest update per symbol once the reader is a buffer behind", async () => {
    let conflations = 0;
    const { publish, subscription } = setup([1, 2, 3], { bufferSize: 2, onConflate: () => conflations++ });
    publish(1);
    publish(2);
    publish(1);
    publish(1);
    publish(2);
    // A symbol with nothing pending still gets its place in the queue.
    publish(3);
    assert.equal(subscription.pending, 3);
    assert.equal(subscription.conflatedCount, 3);
    assert.equal(conflations, 3);
    // Sequence numbers jump where updates were replaced.
    assert.deepEqual((await take(subscription, 3)).map(label), ["1#3", "2#2", "3#1"]);
    publish(1);
    assert.deepEqual((await take(subscription, 1)).map(label), ["1#4"]);
    assert.equal(subscription.closed, false);
    subscription.close();
  });

  it("never lets a stale copy replace a newer update it conflates", async () => {
    const { publish, subscription } = setup([1], { bufferSize: 1 });
    const first = publish(1);
    publish(1);
    subscription.deliver(first);
    assert.equal(subscription.conflatedCount, 1);
    assert.deepEqual((await take(subscription, 1)).map(label), ["1#2"]);
    subscription.close();
  });

  it("stays bounded however far the reader falls behind", async () => {
    const hub = new Hub();
    const publish = feed(hub);
    const subscription = new Subscription(hub, { bufferSize: 100 });
    const symbols = Array.from({ length: 10 }, (_, i) => i + 1);
    subscription.add(symbols);
    for (let i = 0; i < 100_000; i++) publish(symbols[i % symbols.length]!, 100 + i);
    assert.ok(subscription.pending <= 100 + symbols.length, `${subscription.pending} pending`);
    const events = (await take(subscription, subscription.pending)) as Snapshot[];
    // The newest update of every symbol survives.
    for (const id of symbols) {
      const latest = events.filter((s) => s.symbolId === id).at(-1);
      assert.equal(latest?.sequence, 10_000, `symbol ${id}`);
    }
    subscription.close();
  });

  it("reads through a long queue in order, past the point where it compacts", async () => {
    const { publish, subscription } = setup([1], { bufferSize: 10_000 });
    for (let i = 0; i < 9000; i++) publish(1);
    const sequences = ((await take(subscription, 9000)) as Snapshot[]).map((s) => s.sequence);
    assert.equal(sequences.length, 9000);
    assert.ok(sequences.every((seq, i) => seq === i + 1));
    subscription.close();
  });

  it("under the close policy, ends a stream that falls a buffer behind with SlowConsumerError", async () => {
    const { hub, publish, subscription } = setup([1, 2], { bufferSize: 2, overflow: "close" });
    publish(1);
    publish(2);
    assert.equal(subscription.closed, false);
    // Even an update that could replace a pending one: this policy never drops updates silently.
    publish(1);
    assert.equal(subscription.closed, true);
    assert.equal(subscription.conflatedCount, 0);
    assert.equal(hub.subscriptionCount, 0);
    await assert.rejects(subscription.next(), (error: unknown) => error instanceof SlowConsumerError && error.bufferSize === 2);
    assert.deepEqual(await subscription.next(), { value: undefined, done: true });
  });

  it("fails a reader that is waiting when closed with an error", async () => {
    const hub = new Hub();
    const subscription = new Subscription(hub);
    const read = subscription.next();
    subscription.close(new Error("gone"));
    await assert.rejects(read, /gone/);
  });

  it("drops queued updates of a symbol when it is removed, and can take it back", async () => {
    const { hub, publish, subscription } = setup([1, 2]);
    publish(1);
    publish(2);
    publish(1);
    assert.deepEqual(subscription.remove([1, 99]), [1]);
    assert.deepEqual([...subscription.symbols], [2]);
    assert.equal(hub.subscriberCount(1), 0);
    publish(1);
    assert.equal(subscription.pending, 1);
    assert.deepEqual((await take(subscription, 1)).map(label), ["2#1"]);
    // Taken back, the symbol's current snapshot is news again, once.
    subscription.add([1]);
    const current = publish(1);
    subscription.deliver(current);
    publish(1);
    assert.deepEqual((await take(subscription, 2)).map(label), ["1#4", "1#5"]);
    subscription.close();
  });

  it("releases every symbol and ends the reader when closed", async () => {
    const { hub, publish, subscription } = setup([1, 2, 3]);
    publish(1);
    const waiting = new Subscription(hub);
    waiting.add([5]);
    const read = waiting.next();
    subscription.close();
    waiting.close();
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(subscription.pending, 0);
    assert.deepEqual(await read, { value: undefined, done: true });
    assert.deepEqual(await subscription.next(), { value: undefined, done: true });
    assert.deepEqual(subscription.add([1]), []);
    assert.equal(hub.subscriptionCount, 0);
    subscription.deliver(publish(1));
    assert.equal(subscription.pending, 0);
  });

  it("closes when a for-await loop over it stops early", async () => {
    const { hub, publish, subscription } = setup([1]);
    publish(1);
    for await (const event of subscription) {
      assert.equal(label(event), "1#1");
      break;
    }
    assert.equal(subscription.closed, true);
    assert.equal(hub.subscriptionCount, 0);
  });

  it("yields WAKE to a waiting reader, or to the next read", async () => {
    const { publish, subscription } = setup([1]);
    const read = subscription.next();
    subscription.wake();
    assert.equal((await read).value, WAKE);
    publish(1);
    subscription.wake();
    // The owner's message goes out before queued updates.
    assert.equal((await subscription.next()).value, WAKE);
    assert.equal(label((await subscription.next()).value as Snapshot), "1#1");
    subscription.close();
  });

  it("yields a heartbeat to a reader left waiting on a quiet stream", async () => {
    const hub = new Hub();
    const subscription = new Subscription(hub, { heartbeatMs: 30 });
    subscription.add([1]);
    const started = Date.now();
    const result = await subscription.next();
    assert.equal(result.value, HEARTBEAT);
    assert.ok(Date.now() - started >= 25, `heartbeat after ${Date.now() - started} ms`);
    assert.equal((await subscription.next()).value, HEARTBEAT);
    subscription.close();
  });

  it("sends no heartbeat while updates keep the stream busy", async () => {
    const { publish, subscription } = setup([1], { heartbeatMs: 200 });
    const seen: SubscriptionEvent[] = [];
    const timer = setInterval(() => publish(1), 10);
    try {
      while (seen.length < 40) seen.push((await subscription.next()).value as SubscriptionEvent);
    } finally {
      clearInterval(timer);
      subscription.close();
    }
    assert.ok(!seen.includes(HEARTBEAT));
  });

  it("follows a store that came back without its data and numbers a symbol from 1 again", async () => {
    const { hub, publish, subscription } = setup([1]);
    publish(1);
    publish(1);
    await take(subscription, 2);
    const restarted = foldTick(undefined, { symbolId: 1, ltp: 5 }, 0);
    const waiting = subscription.next();
    hub.publish(restarted);
    assert.equal(subscription.pending, 0, "a lower sequence is dropped as stale");
    subscription.resync(1, restarted);
    assert.equal((await waiting).value, restarted, "until the store confirms it after an outage");

    const again = subscription.next();
    subscription.resync(1, undefined);
    hub.publish(restarted);
    assert.equal((await again).value, restarted, "a symbol the store lost takes any sequence");
    subscription.close();
  });

  it("calls onClose once, whoever closes it", () => {
    let closed = 0;
    const { subscription } = setup([1], { onClose: () => closed++ });
    subscription.close();
    subscription.close();
    assert.equal(closed, 1);
  });
});
