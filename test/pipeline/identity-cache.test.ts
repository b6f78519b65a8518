import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { identityCache } from "../../src/pipeline/identity-cache.js";

describe("identityCache", () => {
  it("computes once per object, whoever asks", () => {
    let computed = 0;
    const label = identityCache((point: { x: number }, unit: string) => `${point.x}${unit}${"!".repeat(++computed)}`);
    const point = { x: 1 };
    assert.equal(label(point, "m"), "1m!");
    assert.equal(label(point, "m"), "1m!");
    assert.equal(label({ x: 1 }, "m"), "1m!!");
    assert.equal(computed, 2);
  });

  it("remembers only frozen objects when told to, since plain ones may change", () => {
    let computed = 0;
    const label = identityCache((point: { x: number }) => `${point.x}/${++computed}`, { frozenOnly: true });
    const plain = { x: 1 };
    assert.equal(label(plain), "1/1");
    plain.x = 2;
    assert.equal(label(plain), "2/2");
    const frozen = Object.freeze({ x: 3 });
    assert.equal(label(frozen), "3/3");
    assert.equal(label(frozen), "3/3");
  });
});
