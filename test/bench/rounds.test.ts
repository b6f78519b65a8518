import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inRounds, median, medianIndex, roundRatio, splitRatios } from "../../bench/lib/rounds.js";

describe("bench rounds", () => {
  it("measures every target once per round, rotating which goes first", async () => {
    const order: string[] = [];
    const results = await inRounds(["a", "b", "c"], 3, async (target, round) => {
      order.push(`${round}${target}`);
      return `${target}${round}`;
    });
    assert.deepEqual(order, ["0a", "0b", "0c", "1b", "1c", "1a", "2c", "2a", "2b"]);
    assert.deepEqual(results, [["a0", "a1", "a2"], ["b0", "b1", "b2"], ["c0", "c1", "c2"]]);
  });

  it("takes the median of odd and even counts", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(medianIndex([30, 10, 20]), 2);
  });

  it("divides round by round, not median by median", () => {
    // Both targets slow down together in round 2: the ratio stays 2.
    const ratio = roundRatio([200, 100, 210], [100, 50, 105]);
    assert.deepEqual(ratio, { median: 2, min: 2, max: 2 });
    const skewed = roundRatio([120, 80, 100], [100, 100, 100]);
    assert.deepEqual(skewed, { median: 1, min: 0.8, max: 1.2 });
    assert.ok(Number.isNaN(roundRatio(undefined, [1]).median));
    assert.ok(Number.isNaN(roundRatio([1, 2], [1]).median));
    assert.deepEqual(splitRatios({ "a/b": skewed }), { ratios: { "a/b": 1 }, spread: { "a/b": [0.8, 1.2] } });
  });
});
