import { readFileSync } from "node:fs";
import type { HistoryAck, HistoryQueuePolicy } from "./market/history-writer.js";
import type { StoreLossPolicy } from "./market/market.js";
import { DEFAULT_TICK_POLICY, type TickPolicy } from "./market/tick-validation.js";
import type { OverflowPolicy } from "./market/subscription.js";
import type { CompressionName, LimitsConfig } from "./server/limits.js";
import { checkTlsSettings, type TlsSettings } from "./server/tls.js";
import { loadTokenGrants, parseTokenGrants, TokenSpecError, type TokenGrant } from "./auth/tokens.js";

/**
 * HistoryConfig says where ticks are kept and how they are written there.
 */
export interface HistoryConfig {
  /** PostgreSQL connection URL; undefined keeps a bounded window in memory. */
  databaseUrl: string | undefined;
  /** "async" acknowledges PublishTicks once its ticks are queued, "durable" once they are committed. */
  ack: HistoryAck;
  /** Most ticks waiting to be written. */
  queueTicks: number;
  /** What a full queue does: drop new ticks (counted and logged) or make producers wait. */
  queuePolicy: HistoryQueuePolicy;
  /** A batch is written as soon as this many ticks wait. */
  batchTicks: number;
  /** A smaller batch is written this long after its first tick was queued. */
  flushMs: number;
  /** How long a durable acknowledgement waits for its commit. */
  ackTimeoutMs: number;
  /** Days of ticks the database keeps; 0 keeps everything. */
  retentionDays: number;
}

/**
 * GatewayConfig is everything the gateway reads from its environment.
 */
export interface GatewayConfig {
  host: string;
  port: number;
  logLevel: string;
  simulator: {
    enabled: boolean;
    syntheticSymbols: number;
    ticksPerSecond: number;
  };
  maxSymbolsPerCall: number;
  /** Which published ticks are plausible enough to ingest. */
  tickPolicy: Required<TickPolicy>;
  streamBufferSize: number;
  /** Bytes all streams whose clients do not read may hold together before the largest is ended; 0 for no limit. */
  streamBufferBudgetBytes: number;
  slowConsumerPolicy: OverflowPolicy;
  heartbeatMs: number;
  firstByteTimeoutMs: number;
  /** Serve the live browser dashboard at `/`. */
  dashboard: boolean;
  auth: AuthConfig;
  /**
   * Shared Redis store when set; the in-memory store otherwise. `timeoutMs`
   * bounds how long a Redis that stops answering goes unnoticed.
   */
  redis: { url: string; keyPrefix: string; timeoutMs: number } | undefined;
  streamsOnStoreLoss: StoreLossPolicy;
  /** Market history: kept in PostgreSQL with a database URL, in memory without; undefined when off. */
  history: HistoryConfig | undefined;
  /** Whether grpc.reflection (v1 and v1alpha) is served. */
  reflection: boolean;
  /** Serve application/grpc unary and server-streaming calls on the lean lane. */
  grpcLane: boolean;
  /** Serve unary Connect calls (POST and GET, JSON and protobuf) on the lean lane. */
  connectLane: boolean;
  /** Serve unary gRPC-Web calls (protobuf and JSON) on the lean lane. */
  grpcWebLane: boolean;
  /** Serve REST GETs of unary methods on the lean lane, ahead of Fastify's routing. */
  restLane: boolean;
  /** Shortest time between two flushes of one busy server stream on the lean lane. */
  streamFlushMs: number;
  /** Longest a graceful shutdown waits for calls in flight before closing connections. */
  shutdownTimeoutMs: number;
  /** How long SIGTERM keeps serving while NOT_SERVING, so that balancers see the status before the port closes. */
  shutdownDrainDelayMs: number;
  /** Certificate and key from TLS_CERT_FILE and TLS_KEY_FILE; undefined serves cleartext only. */
  tls: TlsSettings | undefined;
  limits: LimitsConfig;
  /** Origins whose pages may call the gateway (`*` for any); empty turns CORS off. */
  corsOrigins: string[];
  /** REST requests per client per window; max 0 turns rate limiting off. */
  rateLimit: { max: number; windowMs: number };
}

/**
 * AuthConfig holds the bearer tokens and what stays open without one.
 */
export interface AuthConfig {
  /** Tokens from AUTH_TOKENS and AUTH_TOKENS_FILE, as read at start-up. */
  tokens: TokenGrant[];
  /** Tokens from AUTH_TOKENS alone, kept when the file is read again. */
  inlineTokens: TokenGrant[];
  /** AUTH_TOKENS_FILE, watched for changes. */
  tokensFile: string | undefined;
  /** Services callable without a token. */
  openServices: string[];
  /** Whether GET /metrics is served without a token. */
  openMetrics: boolean;
}

/** Services open by default: probes and tooling must work without a token. */
export const DEFAULT_OPEN_SERVICES = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/**
 * ConfigError names the environment variable that holds a bad value.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * loadConfig reads and validates the gateway's configuration; see the
 * README's configuration table for every variable.
 */
export function loadConfig(env: Env = process.env): GatewayConfig {
  return {
    host: text(env, "HOST", "0.0.0.0"),
    port: integer(env, "PORT", 50051, 0, 65535),
    logLevel: oneOf(env, "LOG_LEVEL", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    simulator: {
      enabled: oneOf(env, "SIMULATOR", "on", ["on", "off"]) === "on",
      syntheticSymbols: integer(env, "SIMULATOR_SYMBOLS", 100, 0, 100_000),
      ticksPerSecond: integer(env, "SIMULATOR_TICKS_PER_SECOND", 50, 1, 10_000_000),
    },
    maxSymbolsPerCall: integer(env, "MAX_SYMBOLS_PER_CALL", 1000, 1, 1_000_000),
    tickPolicy: {
      priceBandPercent: integer(env, "PRICE_BAND_PERCENT", DEFAULT_TICK_POLICY.priceBandPercent, 0, 1000),
      timeWindowMs: integer(env, "TICK_TIME_WINDOW_MS", DEFAULT_TICK_POLICY.timeWindowMs, 0, 31_536_000_000),
    },
    streamBufferSize: integer(env, "STREAM_BUFFER_SIZE", 1024, 1, 1_000_000),
    streamBufferBudgetBytes: integer(env, "STREAM_BUFFER_BUDGET_MB", 64, 0, 1_000_000) * 1024 * 1024,
    slowConsumerPolicy: oneOf(env, "SLOW_CONSUMER_POLICY", "conflate", ["conflate", "close"]),
    heartbeatMs: integer(env, "HEARTBEAT_INTERVAL_MS", 15_000, 0, 3_600_000),
    firstByteTimeoutMs: integer(env, "FIRST_BYTE_TIMEOUT_MS", 10_000, 1, 3_600_000),
    dashboard: oneOf(env, "DASHBOARD", "on", ["on", "off"]) === "on",
    auth: authConfig(env),
    redis: redisConfig(env),
    streamsOnStoreLoss: oneOf(env, "STREAMS_ON_STORE_LOSS", "keep", ["keep", "close"]),
    history: historyConfig(env),
    reflection: oneOf(env, "REFLECTION", "on", ["on", "off"]) === "on",
    grpcLane: oneOf(env, "GRPC_LANE", "on", ["on", "off"]) === "on",
    connectLane: oneOf(env, "CONNECT_LANE", "on", ["on", "off"]) === "on",
    grpcWebLane: oneOf(env, "GRPC_WEB_LANE", "on", ["on", "off"]) === "on",
    restLane: oneOf(env, "REST_LANE", "on", ["on", "off"]) === "on",
    streamFlushMs: integer(env, "STREAM_FLUSH_MS", 5, 0, 1000),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 0, 3_600_000),
    shutdownDrainDelayMs: integer(env, "SHUTDOWN_DRAIN_DELAY_MS", 5000, 0, 3_600_000),
    tls: tlsSettings(env),
    limits: {
      maxMessageBytes: integer(env, "MAX_MESSAGE_BYTES", 50 * 1024 * 1024, 1024, 0xffffffff),
      maxConcurrentStreams: integer(env, "MAX_CONCURRENT_STREAMS", 1000, 1, 0xffffffff),
      keepaliveIntervalMs: integer(env, "KEEPALIVE_INTERVAL_MS", 10_000, 0, 3_600_000),
      keepaliveTimeoutMs: integer(env, "KEEPALIVE_TIMEOUT_MS", 20_000, 1, 3_600_000),
      maxDeadlineMs: integer(env, "MAX_DEADLINE_MS", 86_400_000, 0, 2_147_483_647),
      compression: compressionList(env),
      compressMinBytes: integer(env, "COMPRESS_MIN_BYTES", 1024, 0, 0xffffffff),
      headersTimeoutMs: integer(env, "HEADERS_TIMEOUT_MS", 10_000, 1, 3_600_000),
      bodyTimeoutMs: integer(env, "BODY_TIMEOUT_MS", 30_000, 1, 3_600_000),
      maxRequestBytesInFlight: integer(env, "MAX_REQUEST_BYTES_IN_FLIGHT", 256 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
    },
    corsOrigins: list(env, "CORS_ORIGINS", []),
    rateLimit: {
      max: integer(env, "RATE_LIMIT_MAX", 0, 0, 1_000_000_000),
      windowMs: integer(env, "RATE_LIMIT_WINDOW_MS", 60_000, 1, 86_400_000),
    },
  };
}

function compressionList(env: Env): CompressionName[] {
  const names = list(env, "COMPRESSION", ["gzip", "br"]);
  for (const name of names) {
    if (name !== "gzip" && name !== "br") throw new ConfigError(`COMPRESSION lists gzip, br or none, got "${name}"`);
  }
  return names as CompressionName[];
}

function authConfig(env: Env): AuthConfig {
  const inlineTokens = tokens("AUTH_TOKENS", env.AUTH_TOKENS);
  const tokensFile = env.AUTH_TOKENS_FILE || undefined;
  let all: TokenGrant[];
  try {
    all = loadTokenGrants(inlineTokens, tokensFile);
  } catch (error) {
    throw error instanceof TokenSpecError ? new ConfigError(error.message) : error;
  }
  return {
    tokens: all,
    inlineTokens,
    tokensFile,
    openServices: list(env, "AUTH_OPEN_SERVICES", DEFAULT_OPEN_SERVICES),
    openMetrics: oneOf(env, "AUTH_METRICS", "open", ["open", "token"]) === "open",
  };
}

function tlsSettings(env: Env): TlsSettings | undefined {
  const allowCleartext = oneOf(env, "TLS_CLEARTEXT", "refuse", ["refuse", "accept"]) === "accept";
  const certPath = env.TLS_CERT_FILE ?? "";
  const keyPath = env.TLS_KEY_FILE ?? "";
  if (certPath === "" && keyPath === "") return undefined;
  if (certPath === "" || keyPath === "") throw new ConfigError("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  const settings = {
    cert: Buffer.from(fileText(env, "TLS_CERT_FILE")!),
    key: Buffer.from(fileText(env, "TLS_KEY_FILE")!),
    allowCleartext,
  };
  try {
    checkTlsSettings(settings);
  } catch (error) {
    throw new ConfigError(`TLS_CERT_FILE and TLS_KEY_FILE do not make a usable pair: ${(error as Error).message}`);
  }
  return settings;
}

function tokens(name: string, text: string | undefined): TokenGrant[] {
  if (text === undefined || text.trim() === "") return [];
  try {
    return parseTokenGrants(text);
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}

function fileText(env: Env, name: string): string | undefined {
  const path = env[name];
  if (path === undefined || path === "") return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`${name} names a file that cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** A comma-separated list; "none" is the empty list. */
function list(env: Env, name: string, fallback: readonly string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return [...fallback];
  if (raw.trim().toLowerCase() === "none") return [];
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

function redisConfig(env: Env): GatewayConfig["redis"] {
  const url = env.REDIS_URL;
  if (url === undefined || url === "") return undefined;
  if (!/^rediss?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    // The URL may hold a password: never echo it.
    throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL, got "${url.replace(/:[^:@/]*@/, ":***@")}"`);
  }
  return {
    url,
    keyPrefix: text(env, "REDIS_KEY_PREFIX", "stockify:"),
    timeoutMs: integer(env, "REDIS_TIMEOUT_MS", 1000, 100, 60_000),
  };
}

function historyConfig(env: Env): HistoryConfig | undefined {
  const enabled = oneOf(env, "HISTORY", "on", ["on", "off"]) === "on";
  const config: HistoryConfig = {
    databaseUrl: databaseUrl(env),
    ack: oneOf(env, "HISTORY_ACK", "async", ["async", "durable"]),
    queueTicks: integer(env, "HISTORY_QUEUE_TICKS", 500_000, 1, 100_000_000),
    // A database outage must never stop live prices: dropping is the default.
    queuePolicy: oneOf(env, "HISTORY_QUEUE_POLICY", "drop", ["drop", "backpressure"]),
    batchTicks: integer(env, "HISTORY_BATCH_TICKS", 5000, 1, 1_000_000),
    flushMs: integer(env, "HISTORY_FLUSH_MS", 50, 0, 60_000),
    ackTimeoutMs: integer(env, "HISTORY_ACK_TIMEOUT_MS", 5000, 1, 3_600_000),
    retentionDays: integer(env, "HISTORY_RETENTION_DAYS", 30, 0, 36_500),
  };
  return enabled ? config : undefined;
}

function databaseUrl(env: Env): string | undefined {
  const url = env.DATABASE_URL;
  if (url === undefined || url === "") return undefined;
  if (!/^postgres(ql)?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    // The URL may hold a password: never echo it.
    throw new ConfigError(`DATABASE_URL must be a postgresql:// or postgres:// URL, got "${url.replace(/:[^:@/]*@/, ":***@")}"`);
  }
  return url;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = raw.toLowerCase() as T;
  if (!allowed.includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return value;
}
