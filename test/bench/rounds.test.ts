import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { interleavedRounds, median, medianIndex, relativeScores, roundRatio, splitRatios } from "../../bench/lib/rounds.js";

describe("bench rounds", () => {
  it("measures the reference between every two targets, rotating which target goes first", async () => {
    const order: string[] = [];
    let n = 0;
    const { runs, referenceRuns } = await interleavedRounds("R", ["a", "b", "c"], 2, async (target, round) => {
      order.push(`${round}${target}`);
      return `${target}${n++}`;
    });
    assert.deepEqual(order, ["0R", "0a", "0R", "0b", "0R", "0c", "0R", "1R", "1b", "1R", "1c", "1R", "1a", "1R"]);
    assert.deepEqual(referenceRuns, ["R0", "R2", "R4", "R6", "R7", "R9", "R11", "R13"]);
    // Each run beside the reference runs just before and after it.
    assert.deepEqual(runs[0], [{ run: "a1", before: "R0", after: "R2" }, { run: "a12", before: "R11", after: "R13" }]);
    assert.deepEqual(runs[1], [{ run: "b3", before: "R2", after: "R4" }, { run: "b8", before: "R7", after: "R9" }]);
    const alone = await interleavedRounds(undefined, ["a"], 2, async (target, round) => `${target}${round}`);
    assert.deepEqual(alone, { runs: [[{ run: "a0", before: undefined, after: undefined }, { run: "a1", before: undefined, after: undefined }]], referenceRuns: [] });
  });

  it("scores a target against the reference runs on either side of it", () => {
    // The machine slowed down by half within the second round: the target kept pace.
    const scores = relativeScores(
      [
        { run: 50, before: 100, after: 100 },
        { run: 30, before: 80, after: 40 },
      ],
      (x) => x,
    );
    assert.deepEqual(scores, [0.5, 0.5]);
    assert.deepEqual(relativeScores([{ run: 7 }], (x) => x), [7]);
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
