import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type Candle as CandleMessage,
  CandleSchema,
  GetCandlesResponseSchema,
  GetTicksResponseSchema,
  HistoricalTickSchema,
  type MarketHistoryService,
  StreamCandlesResponseSchema,
  type GetCandlesRequest,
  type GetTicksRequest,
  type StreamCandlesRequest,
  type StreamCandlesResponse,
} from "../gen/stockify/v1/market_history_service_pb.js";
import { bucketStart, CANDLE_INTERVALS, type CandleInterval, intervalMs, isCandleInterval } from "../market/candle-interval.js";
import { StoreUnavailableError } from "../market/errors.js";
import type { Candle, HistoryStore, TickRecord } from "../market/history-store.js";
import type { LiveCandles, LiveCandleWatch } from "../market/live-candles.js";
import type { Market } from "../market/market.js";
import { identityCache } from "../pipeline/identity-cache.js";
import { pushedStream } from "../pipeline/pushed-stream.js";
import { toConnectError } from "./connect-errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";

/**
 * MarketHistoryServiceOptions configure the history API.
 */
export interface MarketHistoryServiceOptions {
  /**
   * Called before the first stream of a bar reads the stored bar in
   * progress, so that ticks still queued for the store are in it (the
   * history writer's flush); it is waited for at most a second. Default none.
   */
  beforeSeed?: () => Promise<void>;
}

const CANDLE_PAGE = { defaultSize: 500, maxSize: 5_000 };
const TICK_PAGE = { defaultSize: 1_000, maxSize: 10_000 };
const DEFAULT_RECENT_BARS = 100;
const MAX_RECENT_BARS = 5_000;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const SEED_WAIT_MS = 1_000;
// Bars a slow stream holds back: the bar in progress conflates to its latest
// state, so only bars that closed while the reader was away add up.
const MAX_HELD_BARS = 64;

/**
 * createMarketHistoryService implements stockify.v1.MarketHistoryService on
 * a history store (what has passed), the market (which symbols exist) and
 * live candles (the bar in progress).
 */
export function createMarketHistoryService(
  market: Market,
  history: HistoryStore,
  liveCandles: LiveCandles,
  options: MarketHistoryServiceOptions = {},
): ServiceImpl<typeof MarketHistoryService> {
  const beforeSeed = options.beforeSeed;

  async function requireSymbol(symbolId: number) {
    if (symbolId === 0) throw new ConnectError("symbol_id must not be 0", Code.InvalidArgument);
    const snapshot = await market.get(symbolId).catch((error: unknown) => {
      throw toConnectError(error);
    });
    if (snapshot === undefined) throw new ConnectError(`unknown symbol: ${symbolId}`, Code.NotFound);
    return snapshot;
  }

  function historyCall<T>(read: () => Promise<T>): Promise<T> {
    if (!history.healthy) return Promise.reject(unavailable());
    return read().catch((error: unknown) => {
      if (error instanceof ConnectError) throw error;
      if (error instanceof StoreUnavailableError || !history.healthy) throw unavailable(error);
      throw error;
    });
  }

  async function seedBar(symbolId: number, interval: CandleInterval) {
    if (beforeSeed !== undefined) await withinMs(beforeSeed(), SEED_WAIT_MS);
    const snapshot = await market.get(symbolId);
    if (snapshot === undefined || !history.healthy) return { snapshot, bar: undefined };
    const startMs = bucketStart(snapshot.exchangeTimeMs, interval);
    const bars = await history.candles({ symbolId, interval, startMs, endMs: startMs + intervalMs(interval), limit: 1 }).catch(() => []);
    return { snapshot, bar: bars[0] };
  }

  return {
    async getCandles(request: GetCandlesRequest) {
      const interval = checkInterval(request.interval);
      const pageSize = checkPageSize(request.pageSize, CANDLE_PAGE);
      const now = Date.now();
      const key = `candles|${request.symbolId}|${interval}|${timeKey(request.startTime)}|${timeKey(request.endTime)}`;
      const cursor = request.pageToken === "" ? undefined : decodePageToken(request.pageToken, key);
      const range = cursor ?? checkRange(request.startTime, request.endTime, now - (now % DAY_MS), now);
      await requireSymbol(request.symbolId);
      const bars = await historyCall(() =>
        history.candles({
          symbolId: request.symbolId,
          interval,
          startMs: range.startMs,
          endMs: range.endMs,
          limit: pageSize + 1,
          afterStartMs: cursor?.after,
        }),
      );
      const { page, nextPageToken } = splitPage(bars, pageSize, (last) => encodePageToken(key, { after: last.startMs, startMs: range.startMs, endMs: range.endMs }));
      return create(GetCandlesResponseSchema, { candles: page.map(candleMessage), nextPageToken });
    },

    async getTicks(request: GetTicksRequest) {
      const pageSize = checkPageSize(request.pageSize, TICK_PAGE);
      const now = Date.now();
      const key = `ticks|${request.symbolId}|${timeKey(request.startTime)}|${timeKey(request.endTime)}`;
      const cursor = request.pageToken === "" ? undefined : decodePageToken(request.pageToken, key);
      const range = cursor ?? checkRange(request.startTime, request.endTime, now - HOUR_MS, now);
      await requireSymbol(request.symbolId);
      const ticks = await historyCall(() =>
        history.ticks({
          symbolId: request.symbolId,
          startMs: range.startMs,
          endMs: range.endMs,
          limit: pageSize + 1,
          afterSequence: cursor?.after,
        }),
      );
      const { page, nextPageToken } = splitPage(ticks, pageSize, (last) => encodePageToken(key, { after: last.sequence, startMs: range.startMs, endMs: range.endMs }));
      return create(GetTicksResponseSchema, { ticks: page.map(tickMessage), nextPageToken });
    },

    streamCandles(request: StreamCandlesRequest, context: HandlerContext) {
      return pushedStream<StreamCandlesResponse>((sink) => {
        let watch: LiveCandleWatch | undefined;
        let live = false;
        let blocked = false;
        let held: Candle[] = [];
        const send = (candles: readonly Candle[]) => {
          if (!sink.push(candles.map(candleResponse))) blocked = true;
        };
        const listener = (candle: Candle) => {
          if (!live) return;
          if (!blocked) return send([candle]);
          // Conflated: the latest state of a bar replaces the one held.
          if (held.at(-1)?.startMs === candle.startMs) held[held.length - 1] = candle;
          else {
            if (held.length >= MAX_HELD_BARS) held.shift();
            held.push(candle);
          }
        };
        const cancel = () => {
          live = false;
          watch?.close();
        };
        const start = async () => {
          const interval = checkInterval(request.interval);
          const count = request.recentCount ?? DEFAULT_RECENT_BARS;
          if (count > MAX_RECENT_BARS) {
            throw new ConnectError(`recent_count is ${count}; the most is ${MAX_RECENT_BARS}`, Code.InvalidArgument);
          }
          const snapshot = await requireSymbol(request.symbolId);
          if (count > 0 && !history.healthy) throw unavailable();
          if (context.signal.aborted) return;
          watch = liveCandles.watch(request.symbolId, interval, listener, () => seedBar(request.symbolId, interval));
          await watch.ready.catch(() => undefined);
          let recent: Candle[] = [];
          if (count > 0) {
            const width = intervalMs(interval);
            const anchor = Math.max(bucketStart(snapshot.exchangeTimeMs, interval), watch.current?.startMs ?? 0);
            recent = await historyCall(() =>
              history.candles({ symbolId: request.symbolId, interval, startMs: anchor - (count - 1) * width, endMs: anchor + width, limit: count }),
            );
          }
          if (context.signal.aborted) return;
          // The live bar is newer than any stored copy of it.
          const current = watch.current;
          if (current !== undefined) {
            recent = recent.filter((bar) => bar.startMs < current.startMs);
            if (count > 0) recent.push(current);
          }
          live = true;
          if (recent.length > 0) send(recent.slice(-Math.max(count, 1)));
        };
        start().catch((error: unknown) => {
          cancel();
          sink.end(toConnectError(error));
        });
        return {
          resume() {
            blocked = false;
            if (held.length === 0) return;
            const batch = held;
            held = [];
            send(batch);
          },
          cancel,
        };
      });
    },
  };
}

function unavailable(cause?: unknown): ConnectError {
  const reason = cause instanceof Error ? `: ${cause.message}` : "";
  return new ConnectError(`the history store is unavailable${reason}`, Code.Unavailable);
}

function checkInterval(interval: string): CandleInterval {
  if (isCandleInterval(interval)) return interval;
  const shown = interval === "" ? "missing" : `"${interval}"`;
  throw new ConnectError(`interval is ${shown}; it must be one of ${CANDLE_INTERVALS.join(", ")}`, Code.InvalidArgument);
}

function checkPageSize(pageSize: number, limits: { defaultSize: number; maxSize: number }): number {
  if (pageSize < 0) throw new ConnectError(`page_size must not be negative, not ${pageSize}`, Code.InvalidArgument);
  // AIP-158: a size above the maximum is read as the maximum.
  return pageSize === 0 ? limits.defaultSize : Math.min(pageSize, limits.maxSize);
}

function checkRange(start: Timestamp | undefined, end: Timestamp | undefined, defaultStartMs: number, nowMs: number) {
  const endMs = end === undefined ? nowMs : timestampMs(end);
  const startMs = start === undefined ? Math.min(defaultStartMs, endMs - 1) : timestampMs(start);
  if (startMs >= endMs) {
    throw new ConnectError(
      `start_time (${new Date(startMs).toISOString()}) must be before end_time (${new Date(endMs).toISOString()})`,
      Code.InvalidArgument,
    );
  }
  return { startMs, endMs };
}

// A missing time is part of the query as given: the range it resolved to
// travels in the page token.
function timeKey(time: Timestamp | undefined): string {
  return time === undefined ? "" : String(timestampMs(time));
}

function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

// Built as the literal it is rather than through create(), which walks the
// schema: a day of 1m bars is 1,440 of them per call, 0.66 ms through
// create() and 0.06 ms as literals.
function candleMessage(candle: Candle): CandleMessage {
  const seconds = Math.floor(candle.startMs / 1000);
  return {
    $typeName: CandleSchema.typeName,
    symbolId: candle.symbolId,
    interval: candle.interval,
    startTime: { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (candle.startMs - seconds * 1000) * 1_000_000 },
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    volume: BigInt(candle.volume),
    tickCount: BigInt(candle.tickCount),
  };
}

// Every stream of a bar sends the same state of it: one frozen response, so
// that a lane can encode it once for all of them.
const candleResponse = identityCache((candle: Candle): StreamCandlesResponse =>
  Object.freeze(create(StreamCandlesResponseSchema, { candle: candleMessage(candle) })),
);

function tickMessage(tick: TickRecord) {
  return create(HistoricalTickSchema, {
    symbolId: tick.symbolId,
    sequence: BigInt(tick.sequence),
    exchangeTime: timestampFromMs(tick.timeMs),
    price: tick.price,
    quantity: BigInt(tick.quantity),
    bid: tick.bid,
    ask: tick.ask,
    bidSize: BigInt(tick.bidSize),
    askSize: BigInt(tick.askSize),
  });
}

// Queries ask for one row past the page: its presence says another page
// follows, without a count query; the token resumes after the page's last row.
function splitPage<T>(rows: T[], pageSize: number, tokenAfter: (last: T) => string): { page: T[]; nextPageToken: string } {
  if (rows.length <= pageSize) return { page: rows, nextPageToken: "" };
  const page = rows.slice(0, pageSize);
  return { page, nextPageToken: tokenAfter(page[pageSize - 1]!) };
}
