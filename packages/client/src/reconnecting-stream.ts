import { Code, ConnectError } from "@connectrpc/connect";
import { backoffDelay, sleep } from "./backoff.js";
import type { ResolvedRetryOptions } from "./client-options.js";
import type { SequenceGap } from "./sequence-tracker.js";

/**
 * ReconnectEvent describes a stream that lost its call and is about to open
 * a new one.
 */
export interface ReconnectEvent {
  /** 1 for the first reconnect after a working call, then 2, 3, ... */
  readonly attempt: number;
  /** Why the previous call ended; a clean end of a live stream counts as UNAVAILABLE. */
  readonly error: ConnectError;
  /** Milliseconds waited before the new call. */
  readonly delayMs: number;
}

/**
 * StreamOptions configure a live stream of the MarketDataClient.
 */
export interface StreamOptions {
  /** Ends the stream when aborted. Default: the stream ends with the client or when the loop breaks. */
  signal?: AbortSignal;
  /** Called when a symbol's sequence jumps: updates were skipped (conflated, or lost while reconnecting). Default: none. */
  onGap?: (gap: SequenceGap) => void;
  /** Called before each reconnect. Default: none. */
  onReconnect?: (event: ReconnectEvent) => void;
  /** Reconnects in a row (without a message in between) before the stream fails. Default: unlimited. */
  maxReconnects?: number;
}

/**
 * The codes after which a new call can succeed: the connection or the
 * server went away, or the server shed a slow stream. Errors about the
 * request itself (an unknown symbol, a missing token) end the stream.
 */
const RECONNECTABLE = new Set([Code.Unavailable, Code.Internal, Code.Unknown, Code.Aborted, Code.ResourceExhausted, Code.Canceled]);

/**
 * reconnecting runs `open` again whenever its call ends for a reason a new
 * call can cure, with exponential backoff and jitter between attempts, and
 * yields the messages of every call in turn. It ends when `signal` aborts.
 */
export async function* reconnecting<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  retry: ResolvedRetryOptions,
  signal: AbortSignal,
  options: Pick<StreamOptions, "onReconnect" | "maxReconnects">,
): AsyncGenerator<T> {
  const maxReconnects = options.maxReconnects ?? Number.POSITIVE_INFINITY;
  let attempt = 0;
  for (;;) {
    const call = new AbortController();
    const stop = () => call.abort(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    let error: ConnectError;
    try {
      for await (const message of open(call.signal)) {
        attempt = 0;
        yield message;
      }
      error = new ConnectError("stream ended by the server", Code.Unavailable);
    } catch (cause) {
      if (signal.aborted) return;
      error = ConnectError.from(cause);
      if (!RECONNECTABLE.has(error.code)) throw error;
    } finally {
      signal.removeEventListener("abort", stop);
      call.abort();
    }
    if (signal.aborted) return;
    attempt++;
    if (attempt > maxReconnects) throw error;
    const delayMs = backoffDelay(attempt, retry);
    options.onReconnect?.({ attempt, error, delayMs });
    try {
      await sleep(delayMs, signal);
    } catch {
      return;
    }
  }
}
