import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

describe("loadConfig, Redis settings", () => {
  it("keeps the in-memory store when REDIS_URL is unset or empty", () => {
    assert.equal(loadConfig({}).redis, undefined);
    assert.equal(loadConfig({ REDIS_URL: "" }).redis, undefined);
    assert.equal(loadConfig({}).streamsOnStoreLoss, "keep");
  });

  it("reads the URL, the key prefix and the stream policy", () => {
    assert.deepEqual(loadConfig({ REDIS_URL: "redis://cache:6379/2" }).redis, {
      url: "redis://cache:6379/2",
      keyPrefix: "stockify:",
    });
    const config = loadConfig({ REDIS_URL: "rediss://u:p@cache:6380", REDIS_KEY_PREFIX: "{prod}:", STREAMS_ON_STORE_LOSS: "close" });
    assert.deepEqual(config.redis, { url: "rediss://u:p@cache:6380", keyPrefix: "{prod}:" });
    assert.equal(config.streamsOnStoreLoss, "close");
  });

  it("refuses a URL that is not redis:// or rediss://, without echoing its password", () => {
    for (const url of ["http://cache:6379", "cache:6379", "redis://", "redis://user:s3cret@"]) {
      assert.throws(
        () => loadConfig({ REDIS_URL: url }),
        (error: unknown) => error instanceof ConfigError && /REDIS_URL/.test(error.message) && !error.message.includes("s3cret"),
        url,
      );
    }
    assert.throws(() => loadConfig({ STREAMS_ON_STORE_LOSS: "drop" }), /STREAMS_ON_STORE_LOSS must be one of keep, close/);
  });
});
