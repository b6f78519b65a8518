import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay, sleep } from "../../packages/client/src/backoff.js";
import { resolveRetryOptions } from "../../packages/client/src/client-options.js";

describe("backoffDelay", () => {
  const options = resolveRetryOptions({ initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2 });

  it("grows the bound exponentially up to the maximum", () => {
    const bounds = [1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(attempt, options, () => 1));
    assert.deepEqual(bounds, [100, 200, 400, 800, 1000, 1000]);
  });

  it("picks a random wait below the bound, so clients spread out", () => {
    assert.equal(backoffDelay(3, options, () => 0), 0);
    assert.equal(backoffDelay(3, options, () => 0.5), 200);
  });
});

describe("sleep", () => {
  it("rejects with the abort reason as soon as the signal aborts", async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
  });
});
