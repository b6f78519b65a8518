import { Code, ConnectError, createClient, type CallOptions, type Client, type Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, compressionBrotli, compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { MarketDataService } from "./gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot, SymbolInfo } from "./gen/stockify/v1/snapshot_pb.js";
import { createBearerTokenInterceptor } from "./bearer-token.js";
import { resolveClientOptions, type MarketDataClientOptions, type ResolvedClientOptions } from "./client-options.js";
import { resolveDelivery, type DeliveryOptions } from "./delivery-options.js";
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
