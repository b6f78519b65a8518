import type { ResolvedRetryOptions } from "./client-options.js";

/**
 * backoffDelay is the wait before retry number `attempt` (1 for the first
 * retry): a random time up to an exponentially growing bound ("full
 * jitter"), so that clients cut off together do not come back together.
 */
export function backoffDelay(attempt: number, options: ResolvedRetryOptions, random: () => number = Math.random): number {
  const bound = Math.min(options.maxBackoffMs, options.initialBackoffMs * options.multiplier ** Math.max(0, attempt - 1));
  return Math.round(bound * random());
}

/**
 * sleep waits, or rejects with the signal's reason as soon as it aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
