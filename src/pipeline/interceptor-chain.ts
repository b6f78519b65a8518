import type { Interceptor } from "@connectrpc/connect";

/**
 * InterceptorChainParts are the interceptors every call passes through, by
 * the concern each one owns.
 */
export interface InterceptorChainParts {
  /** One OpenTelemetry span per call (createCallTracing); undefined when tracing is off. */
  readonly tracing?: Interceptor;
  /** Metrics and the call's log line. */
  readonly observer: Interceptor;
  /** Answers DEADLINE_EXCEEDED to calls whose deadline passed before they started (createDeadlineGate). */
  readonly deadline: Interceptor;
  /** Ends streams in flight on shutdown. */
  readonly drain: Interceptor;
  /** Bearer-token check; undefined when auth is off. */
  readonly auth?: Interceptor;
  /** Calls per token per window (createCallRateLimit); undefined when the limit is off. */
  readonly rateLimit?: Interceptor;
  /** The embedding application's interceptors, in their order. Default: none. */
  readonly embedder?: readonly Interceptor[];
}

/**
 * createInterceptorChain builds the gateway's one interceptor chain, outermost
 * first: tracing (when on), observer, the deadline gate, drain, auth, the rate limit, then the
 * embedding application's own.
 *
 * Tracing wraps everything, so a call's span covers what the chain does
 * to it and the caller's trace reaches every span started inside. The
 * observer comes next so that calls refused further in (auth, a
 * deadline) are counted and logged; drain comes next so that every stream,
 * refused or not, is ended on shutdown; auth precedes the embedder's
 * interceptors, so those only ever see authenticated calls; the rate limit
 * follows auth, whose identity names the token it counts. The list is
 * frozen: lanes compose it once and may rely on it never changing.
 */
export function createInterceptorChain(parts: InterceptorChainParts): readonly Interceptor[] {
  // A call whose deadline passed before it started is answered so at once,
  // counted by the observer, before anything else looks at it.
  const chain = [parts.observer, parts.deadline, parts.drain];
  if (parts.tracing !== undefined) chain.unshift(parts.tracing);
  if (parts.auth !== undefined) chain.push(parts.auth);
  if (parts.rateLimit !== undefined) chain.push(parts.rateLimit);
  chain.push(...(parts.embedder ?? []));
  return Object.freeze(chain);
}
