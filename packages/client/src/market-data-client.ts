import { timestampDate, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type CallOptions, type Client, type Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, compressionBrotli, compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { MarketDataService } from "./gen/stockify/v1/market_data_service_pb.js";
import { MarketHistoryService, type Candle, type HistoricalTick } from "./gen/stockify/v1/market_history_service_pb.js";
import type { Snapshot, SymbolInfo } from "./gen/stockify/v1/snapshot_pb.js";
import { createBearerTokenInterceptor } from "./bearer-token.js";
import { resolveClientOptions, type MarketDataClientOptions, type ResolvedClientOptions } from "./client-options.js";
import { resolveDelivery, type DeliveryOptions } from "./delivery-options.js";
import type { CandleInterval, CandleQueryOptions, CandleStreamOptions, TickQueryOptions } from "./history-options.js";
import { MarketDataStream, type MarketDataStreamOptions } from "./market-data-stream.js";
import { reconnecting, type StreamOptions } from "./reconnecting-stream.js";
import { createRetryInterceptor } from "./retry-interceptor.js";
import { SequenceTracker } from "./sequence-tracker.js";

/**
 * HealthStatus is a grpc.health.v1 serving status, by name.
 */
export type HealthStatus = keyof typeof HealthCheckResponse_ServingStatus;

/**
 * SubscribeOptions configure a subscribeSnapshots stream: its fields and
 * rate, and how it reconnects.
 */
export interface SubscribeOptions extends StreamOptions, DeliveryOptions {}

/**
 * MarketDataClient is the typed way for a TypeScript service to read the
 * gateway: gRPC over one HTTP/2 connection, shared by every call, with a
 * deadline on every unary call, retries of read-only calls when the gateway
 * is unavailable, keepalive pings, optional compression and a bearer token;
 * its streams reconnect and resubscribe on their own.
 *
 * ```ts
 * await using client = new MarketDataClient({ baseUrl: "http://127.0.0.1:50051" });
 * const snapshot = await client.getSnapshot(13);
 * ```
 */
export class MarketDataClient implements AsyncDisposable {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedClientOptions>;
  readonly #session: Http2SessionManager;
  readonly #rpc: Client<typeof MarketDataService>;
  readonly #history: Client<typeof MarketHistoryService>;
  readonly #health: Client<typeof Health>;
  readonly #closing = new AbortController();

  constructor(options: MarketDataClientOptions = {}) {
    this.options = resolveClientOptions(options);
    const { baseUrl, keepaliveMs, keepaliveTimeoutMs, nodeOptions, compression, token, retry, retryUnary, onRetry } = this.options;
    // One session manager means one HTTP/2 connection for every call, which
    // the manager reopens transparently when it is lost.
    this.#session = new Http2SessionManager(
      baseUrl,
      keepaliveMs > 0 ? { pingIntervalMs: keepaliveMs, pingTimeoutMs: keepaliveTimeoutMs } : {},
      nodeOptions,
    );
    const interceptors: Interceptor[] = [];
    // Retries run outside the token interceptor so every attempt carries it.
    if (retryUnary) interceptors.push(createRetryInterceptor(retry, onRetry));
    if (token !== undefined) interceptors.push(createBearerTokenInterceptor(token));
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.#session,
      interceptors,
      acceptCompression: [compressionGzip, compressionBrotli],
      sendCompression: compression === "gzip" ? compressionGzip : compression === "br" ? compressionBrotli : undefined,
    });
    this.#rpc = createClient(MarketDataService, transport);
    this.#history = createClient(MarketHistoryService, transport);
    this.#health = createClient(Health, transport);
  }

  /**
   * connect opens the connection now rather than at the first call, so that
   * an unreachable gateway shows at start-up; it fails with UNAVAILABLE,
   * or DEADLINE_EXCEEDED after `timeoutMs`.
   */
  async connect(): Promise<void> {
    this.#assertOpen();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.options.timeoutMs);
    });
    try {
      const state = await Promise.race([this.#session.connect(), timeout]);
      if (state === "timeout") {
        this.#session.abort();
        throw new ConnectError(`no connection to ${this.options.baseUrl} within ${this.options.timeoutMs} ms`, Code.DeadlineExceeded);
      }
      if (state === "error") {
        throw new ConnectError(`cannot reach ${this.options.baseUrl}`, Code.Unavailable, undefined, undefined, this.#session.error());
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** getSnapshot returns the current snapshot of one symbol; NOT_FOUND when the gateway does not know it. */
  async getSnapshot(symbolId: number, options?: CallOptions): Promise<Snapshot> {
    const { snapshot } = await this.#rpc.getSnapshot({ symbolId }, this.#unary(options));
    if (snapshot === undefined) throw new ConnectError(`no snapshot for symbol ${symbolId}`, Code.Internal);
    return snapshot;
  }

  /**
   * getBatchSnapshots returns the snapshots of many symbols from one call,
   * keyed by symbol id; symbols the gateway does not know are absent.
   */
  async getBatchSnapshots(symbolIds: readonly number[], options?: CallOptions): Promise<Map<number, Snapshot>> {
    const response = await this.#rpc.getBatchSnapshots({ symbolIds: [...symbolIds] }, this.#unary(options));
    const snapshots = new Map<number, Snapshot>();
    // Keep the caller's order, which the protobuf map does not promise.
    for (const id of symbolIds) {
      const snapshot = response.snapshots[id];
      if (snapshot !== undefined) snapshots.set(id, snapshot);
    }
    return snapshots;
  }

  /** listSymbols returns every symbol the gateway knows, ordered by id. */
  async listSymbols(options?: CallOptions): Promise<SymbolInfo[]> {
    return (await this.#rpc.listSymbols({}, this.#unary(options))).symbols;
  }

  /**
   * subscribeSnapshots yields the current snapshot of each symbol, then every
   * update, until the loop breaks, `options.signal` aborts or the client
   * closes. A dropped connection is reopened and the symbols subscribed
   * again; updates the caller already has are not repeated, and updates
   * missed meanwhile are reported to `options.onGap`. `options.mode` and
   * `options.maxUpdatesPerSecond` choose the fields and the rate:
   *
   * ```ts
   * for await (const s of client.subscribeSnapshots([13], { mode: "ltp", maxUpdatesPerSecond: 4 })) {
   *   console.log(s.symbolId, s.ltp);
   * }
   * ```
   */
  async *subscribeSnapshots(symbolIds: readonly number[], options: SubscribeOptions = {}): AsyncGenerator<Snapshot> {
    this.#assertOpen();
    // Checked before any call opens: a bad option is the caller's error, not a reason to reconnect.
    const delivery = resolveDelivery(options);
    const tracker = new SequenceTracker(options.onGap);
    const signal = this.#streamSignal(options.signal);
    const events = reconnecting(
      (callSignal) => this.#rpc.subscribeSnapshots({ symbolIds: [...symbolIds], ...delivery }, { signal: callSignal }),
      this.options.retry,
      signal,
      options,
    );
    for await (const { event } of events) {
      if (event.case === "snapshot" && tracker.observe(event.value) === "deliver") {
        yield event.value;
      }
    }
  }

  /**
   * streamMarketData opens a bidirectional stream starting with
   * `initialSymbolIds`: iterate it for snapshots, and call its `subscribe`
   * and `unsubscribe` to change the symbols while it runs. `options.mode`
   * and `options.maxUpdatesPerSecond` apply to every subscribe that names
   * none of its own.
   */
  streamMarketData(initialSymbolIds: readonly number[] = [], options: MarketDataStreamOptions = {}): MarketDataStream {
    this.#assertOpen();
    return new MarketDataStream(
      (requests, signal) => this.#rpc.streamMarketData(requests, { signal }),
      initialSymbolIds,
      this.options.retry,
      { ...options, signal: this.#streamSignal(options.signal) },
    );
  }

  /**
   * getCandles returns the OHLCV bars of one symbol and interval whose start
   * lies in [start, end), oldest first: today's so far by default. It reads
   * every page before it returns (a day of 1-minute bars is 1,440), each
   * page a call with its own deadline, retried when the gateway is
   * unavailable; a bar without ticks is absent.
   *
   * ```ts
   * const bars = await client.getCandles(13, { interval: "1m" });
   * ```
   */
  async getCandles(symbolId: number, options: CandleQueryOptions): Promise<Candle[]> {
    const { interval, start, end, pageSize, ...call } = options;
    const candles: Candle[] = [];
    let pageToken = "";
    do {
      const page = await this.#history.getCandles(
        { symbolId, interval, startTime: timestamp(start), endTime: timestamp(end), pageSize: pageSize ?? 0, pageToken },
        this.#unary(call),
      );
      candles.push(...page.candles);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return candles;
  }

  /**
   * getTicks yields the ticks of one symbol whose exchange time lies in
   * [start, end), in sequence order: the last hour by default. Ticks can
   * run to millions, so they come lazily: the next page is read when the
   * loop has used the last one, and breaking the loop reads no more.
   *
   * ```ts
   * for await (const tick of client.getTicks(13, { start: Date.now() - 60_000 })) console.log(tick.sequence, tick.price);
   * ```
   */
  async *getTicks(symbolId: number, options: TickQueryOptions = {}): AsyncGenerator<HistoricalTick> {
    const { start, end, pageSize, ...call } = options;
    // Fixed now, so a missing end means the same instant on every page.
    const startTime = timestamp(start);
    const endTime = timestamp(end ?? Date.now());
    let pageToken = "";
    do {
      const page = await this.#history.getTicks({ symbolId, startTime, endTime, pageSize: pageSize ?? 0, pageToken }, this.#unary(call));
      yield* page.ticks;
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }

  /**
   * streamCandles yields the recent bars of one symbol and interval, oldest
   * first, then every change of the bar in progress and each new bar, until
   * the loop breaks, `options.signal` aborts or the client closes. A bar
   * with the same `startTime` as the one before replaces it. A dropped
   * connection is reopened; the recent bars it sends again are skipped up
   * to the newest the caller has, which comes again in its latest state.
   *
   * ```ts
   * for await (const bar of client.streamCandles(13, "1m", { recentCount: 30 })) draw(bar);
   * ```
   */
  async *streamCandles(symbolId: number, interval: CandleInterval, options: CandleStreamOptions = {}): AsyncGenerator<Candle> {
    this.#assertOpen();
    const { recentCount } = options;
    const signal = this.#streamSignal(options.signal);
    const events = reconnecting(
      (callSignal) => this.#history.streamCandles({ symbolId, interval, recentCount }, { signal: callSignal }),
      this.options.retry,
      signal,
      options,
    );
    let newest = Number.NEGATIVE_INFINITY;
    for await (const { candle } of events) {
      if (candle?.startTime === undefined) continue;
      const startMs = timestampDate(candle.startTime).getTime();
      if (startMs < newest) continue;
      newest = startMs;
      yield candle;
    }
  }

  /**
   * checkHealth asks the standard grpc.health.v1 service whether the gateway
   * (`""`, the default) or one of its services takes traffic; NOT_FOUND for
   * a service it does not serve.
   */
  async checkHealth(service = "", options?: CallOptions): Promise<HealthStatus> {
    const { status } = await this.#health.check({ service }, this.#unary(options));
    return (HealthCheckResponse_ServingStatus[status] ?? "UNKNOWN") as HealthStatus;
  }

  /** close ends every stream of the client and closes its connection. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new ConnectError("client closed", Code.Canceled));
    this.#session.abort();
  }

  /** Closes the client at the end of an `await using` block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #unary(options: CallOptions | undefined): CallOptions {
    this.#assertOpen();
    const signal = options?.signal === undefined ? this.#closing.signal : AbortSignal.any([options.signal, this.#closing.signal]);
    return { timeoutMs: this.options.timeoutMs, ...options, signal };
  }

  #streamSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.#closing.signal : AbortSignal.any([signal, this.#closing.signal]);
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new ConnectError("client closed", Code.FailedPrecondition);
  }
}

function timestamp(time: Date | number | undefined): Timestamp | undefined {
  if (time === undefined) return undefined;
  const ms = time instanceof Date ? time.getTime() : time;
  if (!Number.isFinite(ms)) throw new ConnectError(`not a time: ${String(time)}`, Code.InvalidArgument);
  return timestampFromMs(ms);
}
