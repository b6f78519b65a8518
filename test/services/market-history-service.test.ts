import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client, type HandlerContext } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { EventSourceParserStream, type EventSourceMessage } from "eventsource-parser/stream";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  MarketHistoryService,
  type StreamCandlesRequest,
  type StreamCandlesResponse,
} from "../../src/gen/stockify/v1/market_history_service_pb.js";
import { LiveCandles } from "../../src/market/live-candles.js";
import { Market } from "../../src/market/market.js";
import { MemorySnapshotStore } from "../../src/market/memory-store.js";
import { type PushedStream, pushMessages } from "../../src/pipeline/pushed-stream.js";
import { createMarketHistoryService } from "../../src/services/market-history-service.js";
import type { Candle, CandleQuery, HistoryStore, TickQuery, TickRecord } from "../../src/market/history-store.js";
import { MemoryHistoryStore } from "../../src/market/memory-history.js";
import type { Tick } from "../../src/market/snapshot.js";
import { expectCode } from "../support/expect-code.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { grpcJsUnary } from "../support/grpc-js-client.js";
import { waitFor } from "../support/transports.js";

const T0 = Date.UTC(2026, 11, 1, 9, 15, 0);
const SYMBOL = 501;

// Hand-computed: 1m bars at T0 (100 105 98 98, 16 in 3 ticks), T0+1m (101,
// 2 in 1) and T0+3m (99, 3 in 1); the 5m bar at T0 holds all five.
const TICKS: Tick[] = [
  { symbolId: SYMBOL, symbol: "HISTORY TEST", ltp: 100, volume: 10, exchangeTimeMs: T0 + 1_000 },
  { symbolId: SYMBOL, ltp: 105, volume: 5, exchangeTimeMs: T0 + 30_000 },
  { symbolId: SYMBOL, ltp: 98, volume: 1, exchangeTimeMs: T0 + 59_999 },
  { symbolId: SYMBOL, ltp: 101, volume: 2, exchangeTimeMs: T0 + 60_000 },
  { symbolId: SYMBOL, ltp: 99, volume: 3, exchangeTimeMs: T0 + 185_000 },
];

/** A memory history store an operator can "take down". */
class SwitchableHistory implements HistoryStore {
  readonly inner = new MemoryHistoryStore();
  #up = true;
  readonly #listeners = new Set<(healthy: boolean) => void>();
  get healthy(): boolean {
    return this.#up;
  }
  set up(value: boolean) {
    this.#up = value;
    for (const listener of this.#listeners) listener(value);
  }
  onHealthChange(listener: (healthy: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  append(records: readonly TickRecord[]): Promise<void> {
    return this.#up ? this.inner.append(records) : Promise.reject(new Error("connection refused"));
  }
  candles(query: CandleQuery): Promise<Candle[]> {
    return this.#up ? this.inner.candles(query) : Promise.reject(new Error("connection refused"));
  }
  ticks(query: TickQuery): Promise<TickRecord[]> {
    return this.#up ? this.inner.ticks(query) : Promise.reject(new Error("connection refused"));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

function bars(candles: readonly { startTime?: { seconds: bigint }; open: number; high: number; low: number; close: number; volume: bigint; tickCount: bigint }[]) {
  return candles.map((c) => [Number(c.startTime!.seconds) * 1000 - T0, c.open, c.high, c.low, c.close, Number(c.volume), Number(c.tickCount)]);
}

describe("MarketHistoryService", () => {
  let gateway: TestGateway;
  let client: Client<typeof MarketHistoryService>;
  const history = new SwitchableHistory();
  const range = { startTime: timestampFromMs(T0), endTime: timestampFromMs(T0 + 3_600_000) };

  before(async () => {
    // Durable acknowledgements: once ingest resolves, the ticks are in history.
    gateway = await startGateway({ HISTORY_ACK: "durable", HISTORY_FLUSH_MS: "1" }, { historyStore: history });
    await gateway.app.market.ingest(TICKS);
    client = createClient(MarketHistoryService, createGrpcTransport({ baseUrl: gateway.baseUrl }));
  });
  after(() => gateway.close());

  it("returns exact OHLCV bars over gRPC, empty buckets left out", async () => {
    const minutes = await client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range });
    assert.deepEqual(bars(minutes.candles), [
      [0, 100, 105, 98, 98, 16, 3],
      [60_000, 101, 101, 101, 101, 2, 1],
      [180_000, 99, 99, 99, 99, 3, 1],
    ]);
    assert.equal(minutes.nextPageToken, "");
    assert.ok(minutes.candles.every((c) => c.symbolId === SYMBOL && c.interval === "1m"));
    const five = await client.getCandles({ symbolId: SYMBOL, interval: "5m", ...range });
    assert.deepEqual(bars(five.candles), [[0, 100, 105, 98, 99, 21, 5]]);
  });

  it("pages candles and ticks with tokens that round trip, and refuses a tampered or reused token", async () => {
    const first = await client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range, pageSize: 2 });
    assert.equal(first.candles.length, 2);
    assert.notEqual(first.nextPageToken, "");
    const second = await client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range, pageSize: 2, pageToken: first.nextPageToken });
    assert.deepEqual(bars(second.candles), [[180_000, 99, 99, 99, 99, 3, 1]]);
    assert.equal(second.nextPageToken, "");

    const token = first.nextPageToken;
    const tampered = token.slice(0, -2) + (token.endsWith("A") ? "B" : "A") + token.slice(-1);
    const error = await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range, pageToken: tampered }), Code.InvalidArgument);
    assert.match(error.rawMessage, /page_token/);
    await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "5m", ...range, pageToken: token }), Code.InvalidArgument);
    await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range, pageToken: "not a token" }), Code.InvalidArgument);

    const sequences: bigint[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.getTicks({ symbolId: SYMBOL, ...range, pageSize: 2, pageToken });
      sequences.push(...page.ticks.map((t) => t.sequence));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    assert.deepEqual(sequences, [1n, 2n, 3n, 4n, 5n]);
    assert.equal(pages, 3);
    const ticks = await client.getTicks({ symbolId: SYMBOL, ...range });
    assert.deepEqual(
      ticks.ticks.map((t) => [t.price, Number(t.quantity)]),
      TICKS.map((t) => [t.ltp, t.volume]),
    );
    await expectCode(client.getTicks({ symbolId: SYMBOL, ...range, pageToken: token }), Code.InvalidArgument);
  });

  it("answers bad input with clear errors and the right codes", async () => {
    const badInterval = await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "2m", ...range }), Code.InvalidArgument);
    assert.match(badInterval.rawMessage, /interval is "2m"; it must be one of 1s, 1m, 5m, 15m, 1h, 1d/);
    await expectCode(client.getCandles({ symbolId: SYMBOL, ...range }), Code.InvalidArgument);
    const backwards = await expectCode(
      client.getCandles({ symbolId: SYMBOL, interval: "1m", startTime: range.endTime, endTime: range.startTime }),
      Code.InvalidArgument,
    );
    assert.match(backwards.rawMessage, /start_time .* must be before end_time/);
    await expectCode(client.getTicks({ symbolId: SYMBOL, startTime: range.startTime, endTime: range.startTime }), Code.InvalidArgument);
    await expectCode(client.getCandles({ symbolId: 999_999, interval: "1m", ...range }), Code.NotFound);
    await expectCode(client.getTicks({ symbolId: 0, ...range }), Code.InvalidArgument);
    await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range, pageSize: -1 }), Code.InvalidArgument);
  });

  it("serves the same candles to grpc-js", async () => {
    const grpcClient = new grpc.Client(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
    try {
      const response = await grpcJsUnary(grpcClient, MarketHistoryService.method.getCandles, {
        $typeName: "stockify.v1.GetCandlesRequest",
        symbolId: SYMBOL,
        interval: "1m",
        startTime: range.startTime,
        endTime: range.endTime,
        pageSize: 0,
        pageToken: "",
      });
      assert.equal(response.candles.length, 3);
      assert.equal(response.candles[0]!.volume, 16n);
    } finally {
      grpcClient.close();
    }
  });

  it("serves candles on REST with RFC 3339 query times, and lists the routes in /openapi.json", async () => {
    const query = "interval=1m&start_time=2026-12-01T09:15:00Z&end_time=2026-12-01T10:15:00Z&page_size=2";
    const response = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles?${query}`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { candles: Array<Record<string, unknown>>; nextPageToken: string };
    assert.deepEqual(body.candles[0], {
      symbolId: SYMBOL,
      interval: "1m",
      startTime: "2026-12-01T09:15:00Z",
      open: 100,
      high: 105,
      low: 98,
      close: 98,
      volume: "16",
      tickCount: "3",
    });
    const next = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles?${query}&page_token=${body.nextPageToken}`);
    assert.equal(((await next.json()) as { candles: unknown[] }).candles.length, 1);

    const ticks = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/ticks?start_time=2026-12-01T09:15:00Z&end_time=2026-12-01T09:16:00Z`);
    assert.deepEqual(((await ticks.json()) as { ticks: Array<{ sequence: string }> }).ticks.map((t) => t.sequence), ["1", "2", "3"]);

    // 14:45 in India is 09:15 UTC: the first bar is the same.
    const offset = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles?interval=1m&start_time=2026-12-01T14:45:00%2B05:30&page_size=1`);
    assert.equal(((await offset.json()) as { candles: Array<{ startTime: string }> }).candles[0]?.startTime, "2026-12-01T09:15:00Z");

    const bad = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles?interval=7m`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /interval/);
    assert.equal((await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles?interval=1m&start_time=yesterday`)).status, 400);

    const openapi = (await (await fetch(`${gateway.baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    for (const path of ["/v1/symbols/{symbol_id}/candles", "/v1/symbols/{symbol_id}/ticks", "/v1/symbols/{symbol_id}/candles:stream"]) {
      assert.ok(path in openapi.paths, `${path} in ${Object.keys(openapi.paths).join(", ")}`);
    }
  });

  it("streams the recent bars over SSE, then the bar in progress as ticks arrive", async () => {
    const abort = new AbortController();
    const response = await fetch(`${gateway.baseUrl}/v1/symbols/${SYMBOL}/candles:stream?interval=1m`, {
      headers: { accept: "text/event-stream" },
      signal: abort.signal,
    });
    assert.equal(response.status, 200);
    const events: EventSourceMessage[] = [];
    const reading = (async () => {
      try {
        for await (const event of response.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())) events.push(event);
      } catch {
        // Aborted below.
      }
    })();
    const candles = () => events.map((e) => JSON.parse(e.data).candle as { startTime: string; close: number; high: number; volume: string; tickCount: string });
    try {
      await waitFor(() => events.length >= 3, 5000, "the recent bars");
      assert.deepEqual(
        candles().map((c) => [c.startTime, c.close, c.volume]),
        [
          ["2026-12-01T09:15:00Z", 98, "16"],
          ["2026-12-01T09:16:00Z", 101, "2"],
          ["2026-12-01T09:18:00Z", 99, "3"],
        ],
      );
      // Published by a producer over REST, into the bar in progress.
      const publish = async (ltp: number, volume: number, offsetMs: number) => {
        const sent = await fetch(`${gateway.baseUrl}/v1/ticks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ticks: [{ symbolId: SYMBOL, ltp, volume, exchangeTime: new Date(T0 + offsetMs).toISOString() }] }),
        });
        assert.equal(sent.status, 200);
      };
      await publish(107, 4, 190_000);
      await waitFor(() => candles().some((c) => c.close === 107), 5000, "the bar in progress to change");
      assert.deepEqual(candles().at(-1), { ...candles().at(-1), startTime: "2026-12-01T09:18:00Z", high: 107, volume: "7", tickCount: "2" });
      await publish(102, 1, 241_000);
      await waitFor(() => candles().some((c) => c.startTime === "2026-12-01T09:19:00Z"), 5000, "a new bar");
      assert.equal(candles().at(-1)!.volume, "1");
    } finally {
      abort.abort();
      await reading;
    }
  });

  it("streams over gRPC: recent_count bars of time back, then live; bad streams end with clear codes", async () => {
    const abort = new AbortController();
    const got: Array<[number, number]> = [];
    const stream = client.streamCandles({ symbolId: SYMBOL, interval: "1m", recentCount: 1 }, { signal: abort.signal });
    const reading = (async () => {
      try {
        for await (const { candle } of stream) got.push([Number(candle!.startTime!.seconds) * 1000 - T0, candle!.close]);
      } catch {
        // Cancelled below.
      }
    })();
    try {
      // Only the bar in progress is within one interval of the latest tick.
      await waitFor(() => got.length >= 1, 5000, "the bar in progress");
      assert.deepEqual(got[0], [240_000, 102]);
      await gateway.app.market.ingest([{ symbolId: SYMBOL, ltp: 103, volume: 1, exchangeTimeMs: T0 + 242_000 }]);
      await waitFor(() => got.length >= 2, 5000, "the live change");
      assert.deepEqual(got, [
        [240_000, 102],
        [240_000, 103],
      ]);
    } finally {
      abort.abort();
      await reading;
    }
    const drain = async (request: Parameters<typeof client.streamCandles>[0]) => {
      for await (const _ of client.streamCandles(request)) break;
    };
    await expectCode(drain({ symbolId: SYMBOL, interval: "1w" }), Code.InvalidArgument);
    await expectCode(drain({ symbolId: SYMBOL, interval: "1m", recentCount: 5001 }), Code.InvalidArgument);
    await expectCode(drain({ symbolId: 999_999, interval: "1m" }), Code.NotFound);
  });

  it("answers UNAVAILABLE while the history store is down, with the service NOT_SERVING and the gateway still ready", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: gateway.baseUrl }));
    history.up = false;
    try {
      await expectCode(client.getCandles({ symbolId: SYMBOL, interval: "1m", ...range }), Code.Unavailable);
      await expectCode(client.getTicks({ symbolId: SYMBOL, ...range }), Code.Unavailable);
      assert.equal((await health.check({ service: "stockify.v1.MarketHistoryService" })).status, Serving.NOT_SERVING);
      assert.equal((await health.check({ service: "" })).status, Serving.SERVING);
      assert.equal((await health.check({ service: "stockify.v1.MarketDataService" })).status, Serving.SERVING);
      assert.equal((await fetch(`${gateway.baseUrl}/readyz`)).status, 200);
      const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
      assert.match(metrics, /^stockify_history_store_up 0$/m);
    } finally {
      history.up = true;
    }
    assert.equal((await health.check({ service: "stockify.v1.MarketHistoryService" })).status, Serving.SERVING);
    const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
    assert.match(metrics, /^stockify_history_store_up 1$/m);
    assert.match(metrics, /^stockify_history_batch_ticks_count [1-9]/m);
    assert.match(metrics, /^stockify_history_queue_ticks 0$/m);
  });
});

describe("MarketHistoryService with HISTORY=off", () => {
  it("is not served, and nothing is kept", async () => {
    const gateway = await startGateway({ HISTORY: "off" });
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: gateway.baseUrl }));
      await expectCode(health.check({ service: "stockify.v1.MarketHistoryService" }), Code.NotFound);
      assert.equal((await fetch(`${gateway.baseUrl}/v1/symbols/13/candles?interval=1m`)).status, 404);
      const metrics = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
      assert.doesNotMatch(metrics, /^stockify_history_store_up/m);
    } finally {
      await gateway.close();
    }
  });
});

describe("StreamCandles for a reader that does not keep up", () => {
  it("holds back the latest state of the bar in progress, not every change", async () => {
    const market = new Market(new MemorySnapshotStore());
    await market.ingest([{ symbolId: SYMBOL, symbol: "SLOW", ltp: 100, volume: 1, exchangeTimeMs: T0 }]);
    const live = new LiveCandles(market.store);
    const service = createMarketHistoryService(market, new MemoryHistoryStore(), live);
    const abort = new AbortController();
    const stream = service.streamCandles({ symbolId: SYMBOL, interval: "1m", recentCount: 0 } as StreamCandlesRequest, {
      signal: abort.signal,
    } as HandlerContext) as PushedStream<StreamCandlesResponse>;
    const batches: StreamCandlesResponse[][] = [];
    // A sink that takes one batch, then waits to be resumed.
    const control = stream[pushMessages]({
      push(messages) {
        batches.push([...messages]);
        return false;
      },
      end() {},
    });
    await waitFor(() => live.watched === 1, 5000, "the stream to watch its bar");
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 1; i <= 50; i++) await market.ingest([{ symbolId: SYMBOL, ltp: 100 + i, volume: 1, exchangeTimeMs: T0 + i }]);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]![0]!.candle!.close, 101);
    control.resume();
    // Forty-nine changes later, one state: the latest.
    assert.equal(batches.length, 2);
    assert.deepEqual(
      batches[1]!.map((r) => [r.candle!.close, Number(r.candle!.tickCount)]),
      [[150, 50]],
    );
    control.cancel();
    assert.equal(live.watched, 0);
    live.close();
    await market.close();
  });
});
