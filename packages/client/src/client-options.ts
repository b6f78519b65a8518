import type * as http2 from "node:http2";

/**
 * RetryOptions shape the exponential backoff used for retries of idempotent
 * unary calls and for stream reconnects.
 */
export interface RetryOptions {
  /** Attempts of a unary call in all, the first included; 1 turns retries off. Default 4. */
  maxAttempts?: number;
  /** Upper bound of the first wait, in milliseconds. Default 100. */
  initialBackoffMs?: number;
  /** Upper bound of any wait, in milliseconds. Default 5000. */
  maxBackoffMs?: number;
  /** Growth of the bound from one attempt to the next. Default 2. */
  multiplier?: number;
}

/**
 * MarketDataClientOptions configure a MarketDataClient.
 */
export interface MarketDataClientOptions {
  /** Gateway address, `http://host:port` (h2c) or `https://host:port` (TLS). Default `http://127.0.0.1:50051`. */
  baseUrl?: string;
  /** Bearer token sent as `authorization: Bearer <token>` on every call. Default: none. */
  token?: string;
  /** Deadline of every unary call, retries included, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Backoff for retries and reconnects; `false` turns unary retries off. Default: see RetryOptions. */
  retry?: RetryOptions | false;
  /** Interval of HTTP/2 PING frames on a connection with open streams, in milliseconds; 0 turns them off. Default 10000. */
  keepaliveMs?: number;
  /** How long a PING may go unanswered before the connection counts as dead, in milliseconds. Default 20000. */
  keepaliveTimeoutMs?: number;
  /** Compression of request messages of 1 KiB or more (responses are accepted in gzip and br either way). Default `"none"`. */
  compression?: "gzip" | "br" | "none";
  /** Options for Node's `http2.connect` (CA certificates for TLS, for instance). Default: none. */
  nodeOptions?: http2.ClientSessionOptions | http2.SecureClientSessionOptions;
  /** Called before each retry of a unary call, for logs and metrics. Default: none. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * RetryEvent describes a unary call about to be tried again.
 */
export interface RetryEvent {
  /** The RPC, as `package.Service/Method`. */
  readonly method: string;
  /** The attempt that failed: 1 for the first. */
  readonly attempt: number;
  /** Why it failed (UNAVAILABLE). */
  readonly error: unknown;
  /** Milliseconds to wait before the next attempt. */
  readonly delayMs: number;
}

/**
 * ResolvedRetryOptions are RetryOptions with every default filled in.
 */
export type ResolvedRetryOptions = Required<RetryOptions>;

/**
 * ResolvedClientOptions are MarketDataClientOptions with every default filled in.
 */
export interface ResolvedClientOptions {
  baseUrl: string;
  token: string | undefined;
  timeoutMs: number;
  retry: ResolvedRetryOptions;
  /** False when the caller turned unary retries off; streams still reconnect with `retry`'s backoff. */
  retryUnary: boolean;
  keepaliveMs: number;
  keepaliveTimeoutMs: number;
  compression: "gzip" | "br" | "none";
  nodeOptions: http2.ClientSessionOptions | http2.SecureClientSessionOptions | undefined;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/** DEFAULT_BASE_URL is the gateway's default address. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:50051";

/**
 * resolveClientOptions fills in the defaults and rejects values that cannot work.
 */
export function resolveClientOptions(options: MarketDataClientOptions = {}): ResolvedClientOptions {
  const retry = resolveRetryOptions(options.retry === false ? {} : options.retry);
  const resolved: ResolvedClientOptions = {
    baseUrl: (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ""),
    token: options.token === "" ? undefined : options.token,
    timeoutMs: options.timeoutMs ?? 5000,
    retry,
    retryUnary: options.retry !== false && retry.maxAttempts > 1,
    keepaliveMs: options.keepaliveMs ?? 10_000,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 20_000,
    compression: options.compression ?? "none",
    nodeOptions: options.nodeOptions,
    onRetry: options.onRetry,
  };
  if (!/^https?:\/\//.test(resolved.baseUrl)) {
    throw new TypeError(`baseUrl must start with http:// or https://, got "${resolved.baseUrl}"`);
  }
  if (!(resolved.timeoutMs > 0)) throw new TypeError("timeoutMs must be a positive number");
  if (!(resolved.keepaliveMs >= 0)) throw new TypeError("keepaliveMs must be 0 or more");
  if (!(resolved.keepaliveTimeoutMs > 0)) throw new TypeError("keepaliveTimeoutMs must be a positive number");
  return resolved;
}

/**
 * resolveRetryOptions fills in the backoff defaults.
 */
export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const resolved = {
    maxAttempts: options.maxAttempts ?? 4,
    initialBackoffMs: options.initialBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    multiplier: options.multiplier ?? 2,
  };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1) {
    throw new TypeError("retry.maxAttempts must be an integer of 1 or more");
  }
  if (!(resolved.initialBackoffMs >= 0) || !(resolved.maxBackoffMs >= resolved.initialBackoffMs)) {
    throw new TypeError("retry backoff must satisfy 0 <= initialBackoffMs <= maxBackoffMs");
  }
  if (!(resolved.multiplier >= 1)) throw new TypeError("retry.multiplier must be 1 or more");
  return resolved;
}
