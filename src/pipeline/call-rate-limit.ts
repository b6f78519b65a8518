import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { callIdentityKey } from "./call-identity.js";
import { callProtocol } from "./call-protocol.js";

/**
 * CallRateLimitOptions bound the calls one token may start.
 */
export interface CallRateLimitOptions {
  /** Calls per window per token; 0 turns the limit off. */
  max: number;
  /** Window length in milliseconds. */
  windowMs: number;
  /** Clock in milliseconds. Default: Date.now. */
  now?: () => number;
}

/**
 * createCallRateLimit returns the interceptor that admits at most `max`
 * gRPC, gRPC-Web and Connect calls per token in each fixed window of
 * `windowMs`, and answers RESOURCE_EXHAUSTED with a `retry-after` (seconds)
 * in the error's metadata past it. A stream counts once, when it starts.
 *
 * It goes after auth, whose identity names the token; a call without one
 * (auth off, an open service such as health) is not counted. REST calls are
 * not counted here: REST is limited per client address before its body is
 * read. Returns undefined when the limit is off, so the chain has no link
 * that does nothing. Counters are kept per configured token, so they are as
 * many as the tokens.
 */
export function createCallRateLimit(options: CallRateLimitOptions): Interceptor | undefined {
  const { max, windowMs } = options;
  if (max === 0) return undefined;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { start: number; calls: number }>();
  return (next) => async (req) => {
    const identity = req.contextValues.get(callIdentityKey);
    if (identity === undefined || callProtocol(req) === "rest") return next(req);
    const time = now();
    let window = windows.get(identity.fingerprint);
    if (window === undefined || time - window.start >= windowMs) {
      window = { start: time, calls: 0 };
      windows.set(identity.fingerprint, window);
    }
    if (++window.calls > max) {
      const retryAfter = Math.max(1, Math.ceil((window.start + windowMs - time) / 1000));
      throw new ConnectError(`rate limit of ${max} calls per ${windowMs} ms reached for this token`, Code.ResourceExhausted, {
        "retry-after": String(retryAfter),
      });
    }
    return next(req);
  };
}
