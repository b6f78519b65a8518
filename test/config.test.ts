import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { ConfigError, loadConfig } from "../src/config.js";

const run = promisify(execFile);

function rejects(env: Record<string, string>, message: RegExp): void {
  assert.throws(() => loadConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("loadConfig", () => {
  it("gives the README's defaults for an empty environment", () => {
    const config = loadConfig({});
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 50051);
    assert.equal(config.logLevel, "info");
    assert.deepEqual(config.simulator, { enabled: true, syntheticSymbols: 100, ticksPerSecond: 50 });
    assert.equal(config.maxSymbolsPerCall, 1000);
    assert.equal(config.streamBufferSize, 1024);
    assert.equal(config.slowConsumerPolicy, "conflate");
    assert.equal(config.heartbeatMs, 15_000);
    assert.equal(config.firstByteTimeoutMs, 10_000);
  });

  it("reads every variable, ignoring the case of words and treating empty as unset", () => {
    const config = loadConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "WARN",
      SIMULATOR: "Off",
      SIMULATOR_SYMBOLS: "0",
      SIMULATOR_TICKS_PER_SECOND: "1",
      MAX_SYMBOLS_PER_CALL: "5",
      STREAM_BUFFER_SIZE: "16",
      SLOW_CONSUMER_POLICY: "close",
      HEARTBEAT_INTERVAL_MS: "0",
      FIRST_BYTE_TIMEOUT_MS: "",
    });
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 0);
    assert.equal(config.logLevel, "warn");
    assert.deepEqual(config.simulator, { enabled: false, syntheticSymbols: 0, ticksPerSecond: 1 });
    assert.equal(config.maxSymbolsPerCall, 5);
    assert.equal(config.streamBufferSize, 16);
    assert.equal(config.slowConsumerPolicy, "close");
    assert.equal(config.heartbeatMs, 0);
    assert.equal(config.firstByteTimeoutMs, 10_000);
  });

  it("rejects numbers that are not integers in range, naming the variable, the range and the value", () => {
    rejects({ PORT: "http" }, /^PORT must be an integer from 0 to 65535, got "http"$/);
    rejects({ PORT: "65536" }, /^PORT must be an integer from 0 to 65535, got "65536"$/);
    rejects({ PORT: "80.5" }, /PORT .* got "80\.5"/);
    rejects({ SIMULATOR_SYMBOLS: "-1" }, /^SIMULATOR_SYMBOLS must be an integer from 0 to/);
    rejects({ SIMULATOR_TICKS_PER_SECOND: "0" }, /^SIMULATOR_TICKS_PER_SECOND must be an integer from 1 to/);
    rejects({ MAX_SYMBOLS_PER_CALL: "0" }, /^MAX_SYMBOLS_PER_CALL /);
    rejects({ STREAM_BUFFER_SIZE: "1e9" }, /^STREAM_BUFFER_SIZE .* got "1e9"$/);
    rejects({ HEARTBEAT_INTERVAL_MS: "-5" }, /^HEARTBEAT_INTERVAL_MS /);
    rejects({ FIRST_BYTE_TIMEOUT_MS: "0" }, /^FIRST_BYTE_TIMEOUT_MS must be an integer from 1 to/);
  });

  it("rejects words outside their choices, listing the choices", () => {
    rejects({ SIMULATOR: "yes" }, /^SIMULATOR must be one of on, off, got "yes"$/);
    rejects({ LOG_LEVEL: "verbose" }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"$/);
    rejects({ SLOW_CONSUMER_POLICY: "drop" }, /^SLOW_CONSUMER_POLICY must be one of conflate, close, got "drop"$/);
  });
});

describe("starting with a bad configuration", () => {
  it("stops with exit code 2 and a message naming the variable", async () => {
    const failed = await run(process.execPath, ["--import", "tsx", "src/main.ts"], {
      env: { ...process.env, PORT: "not-a-port", LOG_LEVEL: "silent" },
      timeout: 60_000,
    }).then(
      () => assert.fail("the gateway started with PORT=not-a-port"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(failed.code, 2);
    assert.equal(failed.stderr.trim(), 'configuration error: PORT must be an integer from 0 to 65535, got "not-a-port"');
  });
});

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
      timeoutMs: 1000,
    });
    const config = loadConfig({
      REDIS_URL: "rediss://u:p@cache:6380",
      REDIS_KEY_PREFIX: "{prod}:",
      REDIS_TIMEOUT_MS: "250",
      STREAMS_ON_STORE_LOSS: "close",
    });
    assert.deepEqual(config.redis, { url: "rediss://u:p@cache:6380", keyPrefix: "{prod}:", timeoutMs: 250 });
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

  it("reads the tick policy, 0 turning a check off, and refuses what is out of range", () => {
    assert.deepEqual(loadConfig({}).tickPolicy, { priceBandPercent: 20, timeWindowMs: 86_400_000 });
    assert.deepEqual(loadConfig({ PRICE_BAND_PERCENT: "0", TICK_TIME_WINDOW_MS: "0" }).tickPolicy, { priceBandPercent: 0, timeWindowMs: 0 });
    assert.throws(() => loadConfig({ PRICE_BAND_PERCENT: "-5" }), /PRICE_BAND_PERCENT must be an integer from 0 to 1000/);
    assert.throws(() => loadConfig({ TICK_TIME_WINDOW_MS: "1.5" }), /TICK_TIME_WINDOW_MS must be an integer from 0 to/);
  });

  it("refuses a Redis timeout below 100 ms or that is not a whole number", () => {
    for (const value of ["50", "1.5", "soon"]) {
      assert.throws(() => loadConfig({ REDIS_URL: "redis://cache", REDIS_TIMEOUT_MS: value }), /REDIS_TIMEOUT_MS must be an integer from 100 to 60000/);
    }
  });
});

describe("loadConfig: security and limits", () => {
  it("gives the migration guide's server options as defaults, with auth, TLS, CORS and rate limiting off", () => {
    const config = loadConfig({});
    assert.deepEqual(config.limits, {
      maxMessageBytes: 50 * 1024 * 1024,
      maxConcurrentStreams: 1000,
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 20_000,
      maxDeadlineMs: 86_400_000,
      compression: ["gzip", "br"],
      compressMinBytes: 1024,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      maxRequestBytesInFlight: 256 * 1024 * 1024,
    });
    assert.deepEqual(config.auth.tokens, []);
    assert.equal(config.auth.tokensFile, undefined);
    assert.equal(config.tls, undefined);
    assert.deepEqual(config.corsOrigins, []);
    assert.equal(config.rateLimit.max, 0);
  });

  it("reads the lists and turns compression off with none", () => {
    const config = loadConfig({ COMPRESSION: "none", CORS_ORIGINS: "https://a.example, https://b.example", AUTH_OPEN_SERVICES: "none" });
    assert.deepEqual(config.limits.compression, []);
    assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]);
    assert.deepEqual(config.auth.openServices, []);
  });

  it("rejects unknown encodings and out-of-range limits, naming the variable", () => {
    rejects({ COMPRESSION: "gzip,zstd" }, /^COMPRESSION lists gzip, br or none, got "zstd"$/);
    rejects({ MAX_MESSAGE_BYTES: "10" }, /^MAX_MESSAGE_BYTES must be an integer from 1024/);
    rejects({ MAX_CONCURRENT_STREAMS: "0" }, /^MAX_CONCURRENT_STREAMS must be an integer from 1/);
    rejects({ TLS_CLEARTEXT: "maybe" }, /^TLS_CLEARTEXT must be one of refuse, accept/);
  });
});

describe("loadConfig, history settings", () => {
  it("keeps history in memory by default, asynchronously, dropping when the queue is full", () => {
    assert.deepEqual(loadConfig({}).history, {
      databaseUrl: undefined,
      ack: "async",
      queueTicks: 500_000,
      queuePolicy: "drop",
      batchTicks: 5000,
      flushMs: 50,
      ackTimeoutMs: 5000,
      retentionDays: 30,
    });
    assert.equal(loadConfig({ HISTORY: "off", DATABASE_URL: "postgresql://db/stockify" }).history, undefined);
  });

  it("reads the database URL and the writer's settings", () => {
    const history = loadConfig({
      DATABASE_URL: "postgresql://u:p@db:5432/stockify",
      HISTORY_ACK: "durable",
      HISTORY_QUEUE_POLICY: "backpressure",
      HISTORY_QUEUE_TICKS: "1000",
      HISTORY_RETENTION_DAYS: "7",
    }).history;
    assert.equal(history?.databaseUrl, "postgresql://u:p@db:5432/stockify");
    assert.equal(history?.ack, "durable");
    assert.equal(history?.queuePolicy, "backpressure");
    assert.equal(history?.queueTicks, 1000);
    assert.equal(history?.retentionDays, 7);
  });

  it("refuses a URL that is not postgresql:// or postgres://, without echoing its password, and values out of range", () => {
    for (const url of ["mysql://db/x", "db:5432", "postgresql://", "postgres://user:s3cret@"]) {
      assert.throws(
        () => loadConfig({ DATABASE_URL: url }),
        (error: unknown) => error instanceof ConfigError && /DATABASE_URL/.test(error.message) && !error.message.includes("s3cret"),
        url,
      );
    }
    assert.throws(() => loadConfig({ HISTORY_ACK: "sync" }), /HISTORY_ACK must be one of async, durable/);
    assert.throws(() => loadConfig({ HISTORY_QUEUE_POLICY: "block" }), /HISTORY_QUEUE_POLICY must be one of drop, backpressure/);
    assert.throws(() => loadConfig({ HISTORY_RETENTION_DAYS: "-1" }), /HISTORY_RETENTION_DAYS must be an integer from 0/);
  });
});
