import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import { createContextValues, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type * as http from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import type { GatewayConfig } from "./config.js";
import { MarketDataService } from "./gen/stockify/v1/market_data_service_pb.js";
import { MarketFeedService } from "./gen/stockify/v1/market_feed_service_pb.js";
import { MarketHistoryService } from "./gen/stockify/v1/market_history_service_pb.js";
import { defaultUniverse } from "./market/default-universe.js";
import { Market } from "./market/market.js";
import type { HistoryStore } from "./market/history-store.js";
import { HistoryWriter } from "./market/history-writer.js";
import { LiveCandles } from "./market/live-candles.js";
import { MemoryHistoryStore } from "./market/memory-history.js";
import { createPostgresHistoryStore } from "./market/postgres-history.js";
import { MemorySnapshotStore } from "./market/memory-store.js";
import { createRedisSnapshotStore } from "./market/redis-store.js";
import { MarketSimulator } from "./market/simulator.js";
import type { SnapshotStore } from "./market/snapshot-store.js";
import { restPlugin } from "./rest/rest-plugin.js";
import { createRestLane } from "./rest/rest-lane.js";
import { authPlugin } from "./auth/auth-setup.js";
import { registerCors } from "./server/cors.js";
import { registerHttpCompression } from "./server/http-compression.js";
import { callLimitOptions, http1ServerOptions, http2ServerOptions } from "./server/limits.js";
import { dashboardPlugin } from "./dashboard/dashboard-plugin.js";
import { registration } from "./pipeline/service-registry.js";
import { callLoggerKey } from "./pipeline/call-observer.js";
import { ByteBudget } from "./pipeline/byte-budget.js";
import { GatewayMetrics } from "./pipeline/gateway-metrics.js";
import { callChainPlugin } from "./server/call-chain-plugin.js";
import { tracingFromEnvironment, type GatewayTracing } from "./server/tracing.js";
import { registerStartupLine } from "./server/startup-line.js";
import type { CallTracingOptions } from "./pipeline/call-tracing.js";
import { operationsPlugin } from "./server/operations.js";
import { RequestLogController } from "./server/request-log.js";
import { servicesPlugin } from "./server/services-plugin.js";
import { routeServices } from "./server/connect-routes.js";
import { installGrpcLane } from "./server/grpc-lane/grpc-lane.js";
import { StreamBudget } from "./pipeline/stream-budget.js";
import { installConnectLane } from "./server/connect-lane/connect-lane.js";
import { installGrpcWebLane } from "./server/grpc-web-lane/grpc-web-lane.js";
import { connectContextValues, guardConnectRequests } from "./server/connect-request-guard.js";
import { createOnePortServer, type OnePortServer, type RequestHandler } from "./server/one-port-server.js";
import { takeOverRequests } from "./server/request-takeover.js";
import { createMarketDataService } from "./services/market-data-service.js";
import { createMarketFeedService } from "./services/market-feed-service.js";
import { createMarketHistoryService } from "./services/market-history-service.js";

/** Log levels at which every call gets its log line. */
const LOGS_CALLS = new Set(["info", "debug", "trace"]);

/**
 * AppOptions are what buildApp needs beyond the configuration.
 */
export interface AppOptions {
  /** Store to serve from. Default: a new in-memory store. */
  store?: SnapshotStore;
  /**
   * History store to keep ticks in, when history is on. Default: PostgreSQL
   * at DATABASE_URL, or a new in-memory window without it.
   */
  historyStore?: HistoryStore;
  /** Fastify logger setting. Default: pino at the configured level. */
  logger?: boolean;
  /**
   * Interceptors of the embedding application, on every protocol and lane.
   * They run innermost: after the observer, the shutdown drain and auth, so
   * they see only authenticated calls, just before the service. Default none.
   */
  interceptors?: readonly Interceptor[];
  /**
   * Where call spans go (OpenTelemetry), or false for none. Default: as the
   * OTEL_* environment variables say (tracingFromEnvironment), off when
   * they name no exporter.
   */
  tracing?: CallTracingOptions | false;
}

declare module "fastify" {
  interface FastifyInstance {
    market: Market;
    simulator: MarketSimulator | undefined;
    metrics: GatewayMetrics;
  }
}

/**
 * prettyLogsOnTerminal gives a person at a terminal readable, coloured log
 * lines (pino-pretty); anything else (a container, a pipe, a log shipper)
 * gets pino's JSON. LOG_FORMAT=json keeps JSON on a terminal too.
 */
function prettyLogsOnTerminal(): { transport?: { target: string; options: Record<string, unknown> } } {
  if (!process.stdout.isTTY || process.env.LOG_FORMAT === "json") return {};
  return { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } };
}

/**
 * buildApp assembles the gateway (market, simulator, services, one-port
 * server) without listening; the caller listens and closes it.
 */
export async function buildApp(config: GatewayConfig, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger === false ? false : { level: config.logLevel, ...prettyLogsOnTerminal() },
    logController: new RequestLogController(),
    requestIdHeader: "x-request-id",
    // Fastify's types know one server kind; this one serves HTTP/1.1 and
    // HTTP/2 and offers every method Fastify calls on it.
    serverFactory: (handler) =>
      createOnePortServer(handler as unknown as RequestHandler, {
        firstByteTimeoutMs: config.firstByteTimeoutMs,
        tls: config.tls,
        http1: http1ServerOptions(config.limits),
        http2: http2ServerOptions(config.limits),
        keepalive:
          config.limits.keepaliveIntervalMs === 0
            ? undefined
            : { intervalMs: config.limits.keepaliveIntervalMs, timeoutMs: config.limits.keepaliveTimeoutMs },
      }) as unknown as http.Server,
  });

  const streamBudget = new StreamBudget(config.streamBufferBudgetBytes, () => metrics.streamEvicted());
  const historyConfig = config.history;
  // A database that cannot be reached does not hold the start up: the store
  // comes back unhealthy and keeps trying, and live prices start without it.
  const historyStore =
    historyConfig === undefined
      ? undefined
      : (options.historyStore ??
        (historyConfig.databaseUrl === undefined
          ? new MemoryHistoryStore()
          : await createPostgresHistoryStore({ url: historyConfig.databaseUrl, retentionDays: historyConfig.retentionDays, logger: app.log })));
  const metrics = new GatewayMetrics({
    hubSubscriptions: () => market.hub.subscriptionCount,
    streamBufferedBytes: () => streamBudget.bytes,
    ...(historyStore === undefined ? {} : { historyQueueTicks: () => historyWriter?.depth ?? 0, historyStoreUp: () => historyStore.healthy }),
  });
  app.decorate("metrics", metrics);
  // The writer stands between the market and the store, so the live path
  // waits on the database only when HISTORY_ACK=durable asks it to.
  const historyWriter =
    historyStore === undefined || historyConfig === undefined
      ? undefined
      : new HistoryWriter(historyStore, {
          queueLimit: historyConfig.queueTicks,
          batchSize: historyConfig.batchTicks,
          flushMs: historyConfig.flushMs,
          policy: historyConfig.queuePolicy,
          ack: historyConfig.ack,
          ackTimeoutMs: historyConfig.ackTimeoutMs,
          onBatch: (size, ms) => metrics.historyBatch(size, ms),
          onDrop: (count) => metrics.historyDropped(count),
          logger: app.log,
        });
  const store =
    options.store ??
    (config.redis ? createRedisSnapshotStore({ ...config.redis, logger: app.log }) : new MemorySnapshotStore());
  const market = new Market(
    store,
    {
      bufferSize: config.streamBufferSize,
      overflow: config.slowConsumerPolicy,
      onConflate: (skipped) => metrics.conflated(skipped),
    },
    {
      streamsOnStoreLoss: config.streamsOnStoreLoss,
      heartbeatMs: config.heartbeatMs,
      flushWindowMs: config.streamFlushMs,
      tickPolicy: config.tickPolicy,
      history: historyWriter,
    },
  );
  app.decorate("market", market);
  const liveCandles = historyStore === undefined ? undefined : new LiveCandles(market.store);

  let simulator: MarketSimulator | undefined;
  if (config.simulator.enabled) {
    simulator = new MarketSimulator((ticks) => market.ingest(ticks), {
      symbols: defaultUniverse(config.simulator.syntheticSymbols),
      ticksPerSecond: config.simulator.ticksPerSecond,
      // Half the band: room for the book around the price.
      maxMovePercent: config.tickPolicy.priceBandPercent > 0 ? config.tickPolicy.priceBandPercent / 2 : undefined,
    });
    await simulator.start();
  }
  app.decorate("simulator", simulator);

  await app.register(servicesPlugin, {
    api: [
      registration(MarketDataService, createMarketDataService(market, { maxSymbolsPerCall: config.maxSymbolsPerCall }), { scope: "read" }),
      registration(MarketFeedService, createMarketFeedService(market), { scope: "write" }),
      ...(historyStore === undefined || liveCandles === undefined
        ? []
        : [
            registration(
              MarketHistoryService,
              createMarketHistoryService(market, historyStore, liveCandles, { beforeSeed: () => historyWriter?.flush() ?? Promise.resolve() }),
              { scope: "read" },
            ),
          ]),
    ],
    reflection: config.reflection,
    dependencies: historyStore === undefined ? undefined : new Map([[MarketHistoryService.typeName, historyStore]]),
  });
  await app.register(authPlugin, config.auth);
  // Fastify's "listening at http://" line cannot tell; say it here.
  if (config.tls) app.log.info({ cleartext: config.tls.allowCleartext ? "accepted" : "refused" }, "TLS on: HTTPS with ALPN h2 and http/1.1");
  await registerCors(app, config.corsOrigins);
  await registerHttpCompression(app, config.limits);

  await app.register(operationsPlugin);
  const tracing = options.tracing ?? tracingFromEnvironment(process.env) ?? false;
  if (tracing !== false && "shutdown" in tracing) app.addHook("onClose", () => (tracing as GatewayTracing).shutdown());
  await app.register(callChainPlugin, {
    interceptors: options.interceptors,
    rateLimit: config.rateLimit,
    tracing: tracing === false ? undefined : tracing,
  });
  const services = app.services;

  const authGate = app.authGate;
  // One budget for request bytes in flight, across every lane and connection.
  const requestBudget = new ByteBudget(config.limits.maxRequestBytesInFlight);
  const refuses = authGate === null ? undefined : (service: string, authorization: string | undefined) => authGate(service, authorization) !== undefined;
  // Not wrapped in fastify-plugin, so Connect's content-type parsers (and
  // the guard that reads headers before Connect reads a body) stay inside
  // this registration.
  await app.register(async (connect) => {
    guardConnectRequests(connect, { refuses, bodyTimeoutMs: config.limits.bodyTimeoutMs, registrations: services.registrations, budget: requestBudget });
    await connect.register(fastifyConnectPlugin, {
      interceptors: [...services.interceptors],
      ...callLimitOptions(config.limits),
      contextValues: connectContextValues,
      routes(router: ConnectRouter) {
        routeServices(router, services.registrations);
      },
    });
  });
  await app.register(async (rest) => {
    await rest.register(restPlugin, {
      rateLimit: config.rateLimit,
      maxBodyBytes: config.limits.maxMessageBytes,
      maxTimeoutMs: callLimitOptions(config.limits).maxTimeoutMs,
      streamBudget,
      refuses,
      compression: { encodings: config.limits.compression, minBytes: config.limits.compressMinBytes },
    });
  });
  if (config.dashboard) await app.register(dashboardPlugin);
  registerStartupLine(app, { tls: config.tls !== undefined, dashboard: config.dashboard });

  // Calls on the lanes carry a request id as Fastify's requests do: the
  // caller's, or the lane's own; the response echoes the one the log shows.
  let laneCalls = 0;
  const laneRequestId = (prefix: string) => (headers: http.IncomingHttpHeaders) => {
    const requestId = headers["x-request-id"];
    return typeof requestId === "string" && requestId !== "" ? requestId : `${prefix}-${++laneCalls}`;
  };
  // A child logger is made only when its lines would be written.
  const laneContextValues = (_headers: http.IncomingHttpHeaders, reqId: string | undefined) => {
    const values = createContextValues();
    if (!LOGS_CALLS.has(app.log.level)) return values;
    return values.set(callLoggerKey, app.log.child({ reqId }));
  };

  if (config.grpcLane) {
    // Installed once the app is ready, so that the lane goes ahead of every
    // 'stream' listener the server has by then.
    app.addHook("onReady", async () => {
      const server = app.server as unknown as OnePortServer;
      for (const h2 of [server.http2, server.https]) {
        if (h2 === undefined) continue;
        installGrpcLane(h2, services.registrations, {
          interceptors: services.interceptors,
          ...callLimitOptions(config.limits),
          refuses,
          bodyTimeoutMs: config.limits.bodyTimeoutMs,
          budget: requestBudget,
          streamBudget,
          requestId: laneRequestId("grpc"),
          contextValues: laneContextValues,
        });
      }
    });
  }

  if ((config.connectLane || config.grpcWebLane) && config.corsOrigins.length === 0) {
    // Unary Connect and gRPC-Web calls (browsers, scripts) on lanes of their
    // own, ahead of Fastify on both HTTP versions. With CORS on, Fastify's
    // CORS hooks must see every browser call, so Connect's handler keeps them.
    app.addHook("onReady", async () => {
      const laneOptions = {
        interceptors: services.interceptors,
        ...callLimitOptions(config.limits),
        refuses,
        bodyTimeoutMs: config.limits.bodyTimeoutMs,
        budget: requestBudget,
        contextValues: laneContextValues,
      };
      const server = app.server as unknown as OnePortServer;
      for (const target of [server.http1, server.http2, server.https]) {
        if (target === undefined) continue;
        if (config.connectLane) installConnectLane(target, services.registrations, { ...laneOptions, requestId: laneRequestId("connect") });
        if (config.grpcWebLane) installGrpcWebLane(target, services.registrations, { ...laneOptions, requestId: laneRequestId("grpc-web") });
      }
    });
  }

  if (config.restLane && config.corsOrigins.length === 0 && config.rateLimit.max === 0) {
    // REST GETs of unary methods on a lane of their own, ahead of Fastify.
    // CORS and the per-address REST rate limit are Fastify hooks, which
    // must then see every call, so the routes keep them.
    app.addHook("onReady", async () => {
      const lane = createRestLane(services.registrations, {
        interceptors: services.interceptors,
        maxTimeoutMs: callLimitOptions(config.limits).maxTimeoutMs,
        compression: { encodings: config.limits.compression, minBytes: config.limits.compressMinBytes },
        requestId: laneRequestId("rest"),
        contextValues: laneContextValues,
        logger: app.log,
      });
      const server = app.server as unknown as OnePortServer;
      for (const target of [server.http1, server.http2, server.https]) if (target !== undefined) takeOverRequests(target, lane);
    });
  }

  app.addHook("onClose", async () => {
    simulator?.stop();
    liveCandles?.close();
    // What is queued for history is written before its store closes.
    await historyWriter?.close();
    await historyStore?.close();
    await market.close();
  });
  return app;
}
