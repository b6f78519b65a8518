import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { backoffDelay, sleep } from "./backoff.js";
import type { ResolvedRetryOptions, RetryEvent } from "./client-options.js";

/**
 * createRetryInterceptor retries unary calls to methods declared free of
 * side effects (`idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`) when
 * they fail with UNAVAILABLE, waiting with exponential backoff and jitter.
 *
 * Streams and calls that change state are never retried: a second attempt
 * could apply a write twice. The call's deadline covers every attempt, so a
 * retry never outlives the caller's patience.
 */
export function createRetryInterceptor(options: ResolvedRetryOptions, onRetry?: (event: RetryEvent) => void): Interceptor {
  return (next) => async (req) => {
    if (req.stream || !isIdempotent(req.method.idempotency)) return next(req);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code !== Code.Unavailable || attempt >= options.maxAttempts || req.signal.aborted) throw error;
        // An abort during the wait (the deadline, or the caller) ends the
        // call with that reason, as it would have without a retry.
        const delayMs = backoffDelay(attempt, options);
        onRetry?.({ method: `${req.method.parent.typeName}/${req.method.name}`, attempt, error, delayMs });
        await sleep(delayMs, req.signal).catch((reason: unknown) => {
          throw ConnectError.from(reason);
        });
      }
    }
  };
}

function isIdempotent(level: MethodOptions_IdempotencyLevel): boolean {
  return level === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || level === MethodOptions_IdempotencyLevel.IDEMPOTENT;
}
