import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hub, type HubSubscriber } from "../../src/market/hub.js";
import { foldTick, type Snapshot } from "../../src/market/snapshot.js";

function recorder(): HubSubscriber & { got: Snapshot[] } {
  const got: Snapshot[] = [];
  return { got, deliver: (s) => got.push(s) };
}

const snap = (symbolId: number) => foldTick(undefined, { symbolId, ltp: 1 }, 0);

describe("Hub", () => {
  it("delivers an update to exactly the subscribers of its symbol", () => {
    const hub = new Hub();
    const a = recorder();
    const b = recorder();
    const c = recorder();
    hub.add(13, a);
    hub.add(13, b);
    hub.add(25, b);
    hub.add(27, c);
    const nifty = snap(13);
    hub.publish(nifty);
    hub.publish(snap(25));
    assert.deepEqual(a.got.map((s) => s.symbolId), [13]);
    assert.deepEqual(b.got.map((s) => s.symbolId), [13, 25]);
    assert.deepEqual(c.got, []);
    // The same object goes to everyone: nothing is copied per subscriber.
    assert.equal(a.got[0], nifty);
    assert.equal(b.got[0], nifty);
  });

  it("ignores updates nobody asked for", () => {
    const hub = new Hub();
    hub.publish(snap(1));
    assert.equal(hub.subscriptionCount, 0);
  });

  it("registers a subscriber once per symbol", () => {
    const hub = new Hub();
    const a = recorder();
    assert.equal(hub.add(13, a), true);
    assert.equal(hub.add(13, a), false);
    hub.publish(snap(13));
    assert.equal(a.got.length, 1);
    assert.equal(hub.subscriberCount(13), 1);
    assert.equal(hub.subscriptionCount, 1);
  });

  it("counts subscriptions down to zero as subscribers let go", () => {
    const hub = new Hub();
    const a = recorder();
    const b = recorder();
    hub.add(13, a);
    hub.add(25, a);
    hub.add(13, b);
    assert.equal(hub.subscriptionCount, 3);
    assert.equal(hub.subscriberCount(13), 2);
    assert.equal(hub.remove(13, a), true);
    assert.equal(hub.remove(13, a), false);
    assert.equal(hub.remove(99, a), false);
    hub.publish(snap(13));
    assert.equal(a.got.length, 0);
    assert.equal(b.got.length, 1);
    hub.remove(25, a);
    hub.remove(13, b);
    assert.equal(hub.subscriptionCount, 0);
    assert.equal(hub.subscriberCount(13), 0);
  });
});
