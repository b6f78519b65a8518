/**
 * The MarketDataClient package entry point: `import { MarketDataClient }
 * from "@stockify/client"`.
 */
export { MarketDataClient, type HealthStatus, type SubscribeOptions } from "./market-data-client.js";
export { DEFAULT_BASE_URL, type MarketDataClientOptions, type RetryEvent, type RetryOptions } from "./client-options.js";
export type { DeliveryOptions, FieldMode } from "./delivery-options.js";
export { MarketDataStream, type MarketDataStreamOptions, type SubscriptionChange } from "./market-data-stream.js";
export type { ReconnectEvent, StreamOptions } from "./reconnecting-stream.js";
export type { SequenceGap } from "./sequence-tracker.js";
export { createBearerTokenInterceptor } from "./bearer-token.js";
export { createRetryInterceptor } from "./retry-interceptor.js";
export { CANDLE_INTERVALS, type CandleInterval, type CandleQueryOptions, type CandleStreamOptions, type TickQueryOptions } from "./history-options.js";
export type { Snapshot, SymbolInfo } from "./gen/stockify/v1/snapshot_pb.js";
export type { Candle, HistoricalTick } from "./gen/stockify/v1/market_history_service_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";
