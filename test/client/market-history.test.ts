import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { MarketDataClient, type Candle, type CandleInterval } from "../../packages/client/src/index.js";
import { crashable } from "../support/crash.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const MINUTE = 60_000;

/** A bar as plain numbers, to compare with hand-computed ones. */
function bar(candle: Candle) {
  return {
    startMs: timestampMs(candle.startTime!),
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    volume: Number(candle.volume),
    ticks: Number(candle.tickCount),
  };
}

describe("MarketDataClient history", () => {
  let gateway: TestGateway;
  let client: MarketDataClient;
  // Two whole minutes that ended before the test began, so no live tick
  // of the seed falls into them.
  const first = Math.floor(Date.now() / MINUTE) * MINUTE - 3 * MINUTE;
  const second = first + MINUTE;
  before(async () => {
    // Durable acknowledgement: once ingest resolves the ticks are in the store.
    gateway = await startGateway({ HISTORY_ACK: "durable" });
    client = new MarketDataClient({ baseUrl: gateway.baseUrl });
    const ticks = [
      { ltp: 100, volume: 5, at: first + 1_000 },
      { ltp: 105, volume: 2, at: first + 20_000 },
      { ltp: 99, volume: 1, at: first + 40_000 },
      { ltp: 101, volume: 3, at: first + 59_999 },
      { ltp: 102, volume: 4, at: second },
    ];
    for (const { ltp, volume, at } of ticks) await gateway.app.market.ingest([{ symbolId: 25, ltp, volume, exchangeTimeMs: at }]);
  });
  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  it("getCandles reads every page of a range and returns exact OHLCV bars, oldest first", async () => {
    const candles = await client.getCandles(25, { interval: "1m", start: first, end: new Date(second + MINUTE), pageSize: 1 });
    assert.deepEqual(candles.map(bar), [
      { startMs: first, open: 100, high: 105, low: 99, close: 101, volume: 11, ticks: 4 },
      { startMs: second, open: 102, high: 102, low: 102, close: 102, volume: 4, ticks: 1 },
    ]);
  });

  it("getTicks yields the ticks of a range in sequence order across pages", async () => {
    const ticks = [];
    for await (const tick of client.getTicks(25, { start: first, end: second + 1, pageSize: 2 })) ticks.push(tick);
    assert.deepEqual(
      ticks.map((t) => [t.price, Number(t.quantity)]),
      [
        [100, 5],
        [105, 2],
        [99, 1],
        [101, 3],
        [102, 4],
      ],
    );
    const sequences = ticks.map((t) => Number(t.sequence));
    assert.deepEqual(sequences, [...sequences].sort((a, b) => a - b));
  });

  it("streamCandles yields the recent bars, then the bar in progress as it changes", async () => {
    const controller = new AbortController();
    const seen: ReturnType<typeof bar>[] = [];
    const stream = client.streamCandles(25, "1m", { recentCount: 10, signal: controller.signal });
    for await (const candle of stream) {
      seen.push(bar(candle));
      if (seen.length === 1) assert.equal(seen[0]!.startMs, first, "the oldest recent bar first");
      if (seen.length === 2) await gateway.app.market.ingest([{ symbolId: 25, ltp: 110, volume: 6, exchangeTimeMs: second + 30_000 }]);
      if (seen.at(-1)!.close === 110) break;
    }
    assert.deepEqual(seen.at(-1), { startMs: second, open: 102, high: 110, low: 102, close: 110, volume: 10, ticks: 2 });
  });

  it("streamCandles reconnects after a gateway crash and skips the recent bars it already yielded", async () => {
    const down = await startGateway({ HISTORY_ACK: "durable" });
    const { crash } = crashable(down);
    const reconnecting = new MarketDataClient({ baseUrl: down.baseUrl, retry: { initialBackoffMs: 50, maxBackoffMs: 200 } });
    let back: TestGateway | undefined;
    try {
      const write = (gateway: TestGateway, ltp: number, at: number) =>
        gateway.app.market.ingest([{ symbolId: 27, ltp, volume: 1, exchangeTimeMs: at }]);
      await write(down, 23800, first + 1_000);
      await write(down, 23810, second + 1_000);
      const seen: Array<{ startMs: number; close: number; afterReconnect: boolean }> = [];
      let reconnects = 0;
      const stream = reconnecting.streamCandles(27, "1m", { recentCount: 10, onReconnect: () => reconnects++ });
      for await (const candle of stream) {
        seen.push({ startMs: bar(candle).startMs, close: candle.close, afterReconnect: reconnects > 0 });
        if (seen.length === 2) {
          await crash();
          // The same port, with history that holds both minutes again (the
          // second changed) before it listens.
          back = await startGateway(
            { HISTORY_ACK: "durable", PORT: String(down.port) },
            {
              seed: [
                { symbolId: 27, symbol: "FIN NIFTY", ltp: 23800, volume: 1, exchangeTimeMs: first + 1_000 },
                { symbolId: 27, ltp: 23820, volume: 1, exchangeTimeMs: second + 2_000 },
              ],
            },
          );
        }
        if (candle.close === 23820) break;
      }
      assert.ok(reconnects >= 1, "the stream reconnected");
      assert.deepEqual(
        seen.filter((s) => s.afterReconnect).map((s) => s.startMs),
        [second],
        "after the reconnect only the newest bar came again",
      );
    } finally {
      await reconnecting.close();
      await back?.close();
    }
  });

  it("rejects an unknown interval with INVALID_ARGUMENT and an unknown symbol with NOT_FOUND", async () => {
    await assert.rejects(client.getCandles(25, { interval: "2m" as CandleInterval }), (error) => {
      assert.equal(ConnectError.from(error).code, Code.InvalidArgument);
      assert.match(ConnectError.from(error).message, /1s, 1m, 5m, 15m, 1h, 1d/);
      return true;
    });
    await assert.rejects(client.getCandles(999, { interval: "1m" }), (error) => ConnectError.from(error).code === Code.NotFound);
    await assert.rejects(
      (async () => {
        for await (const _ of client.streamCandles(999, "1m")) break;
      })(),
      (error) => ConnectError.from(error).code === Code.NotFound,
    );
  });
});
