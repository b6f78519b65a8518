import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SequenceTracker, type SequenceGap } from "../../packages/client/src/sequence-tracker.js";

const at = (symbolId: number, sequence: bigint, ltp = 100) => ({
  symbolId,
  sequence,
  ltp,
  exchangeTime: { seconds: 1n, nanos: 0 } as never,
});

describe("SequenceTracker", () => {
  it("delivers consecutive updates and reports no gap", () => {
    const gaps: SequenceGap[] = [];
    const tracker = new SequenceTracker((gap) => gaps.push(gap));
    assert.equal(tracker.observe(at(13, 1n)), "deliver");
    assert.equal(tracker.observe(at(13, 2n)), "deliver");
    assert.equal(tracker.observe(at(25, 7n)), "deliver");
    assert.deepEqual(gaps, []);
  });

  it("reports how many updates a jump skipped, per symbol", () => {
    const gaps: SequenceGap[] = [];
    const tracker = new SequenceTracker((gap) => gaps.push(gap));
    tracker.observe(at(13, 4n));
    tracker.observe(at(13, 9n));
    assert.deepEqual(gaps, [{ symbolId: 13, lastSequence: 4n, sequence: 9n, missed: 4n }]);
    assert.equal(tracker.missed, 4n);
  });

  it("drops the very snapshot the caller already has, as a resumed stream resends it", () => {
    const tracker = new SequenceTracker();
    tracker.observe(at(13, 5n));
    assert.equal(tracker.observe(at(13, 5n)), "duplicate");
  });

  it("treats a lower sequence, or the same one with another price, as a gateway that started over", () => {
    const tracker = new SequenceTracker();
    tracker.observe(at(13, 50n));
    assert.equal(tracker.observe(at(13, 1n)), "deliver");
    assert.equal(tracker.observe(at(13, 1n, 101)), "deliver");
    assert.equal(tracker.missed, 0n);
  });

  it("starts afresh for a symbol it was told to forget", () => {
    const gaps: SequenceGap[] = [];
    const tracker = new SequenceTracker((gap) => gaps.push(gap));
    tracker.observe(at(13, 1n));
    tracker.forget(13);
    tracker.observe(at(13, 30n));
    assert.deepEqual(gaps, []);
  });
});
