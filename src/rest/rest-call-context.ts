import { createContextValues } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-connect";
import type { FastifyRequest } from "fastify";
import { callLoggerKey } from "../pipeline/call-observer.js";
import { CallContext } from "../pipeline/call-context.js";
import type { HttpBinding } from "./http-bindings.js";

/**
 * TIMEOUT_HEADER gives a REST call a deadline in milliseconds, as it does
 * for Connect callers.
 */
export const TIMEOUT_HEADER = "connect-timeout-ms";

/**
 * createRestCallContext builds the handler context of a REST call the way
 * Connect's own handlers do, on the gateway's lean call context: request
 * headers (Authorization included) pass through, the timeout header sets a
 * deadline (one above maxTimeoutMs is refused as Connect refuses it), and
 * the call protocol is "rest". Headers and signal are built only when
 * something asks for them. Shutdown ends REST streams through the shared
 * stream-drain interceptor, as it does every other stream.
 */
export function createRestCallContext(
  request: FastifyRequest,
  binding: HttpBinding,
  limits: { maxTimeoutMs?: number } = {},
): CallContext {
  const rawTimeout = request.headers[TIMEOUT_HEADER];
  const timeout = parseTimeout(typeof rawTimeout === "string" ? rawTimeout : null, limits.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER);
  if (timeout.error !== undefined) throw timeout.error;
  return new CallContext({
    service: binding.method.parent,
    method: binding.method,
    protocol: "rest",
    requestMethod: request.method,
    url: `${request.protocol}://${request.host}${request.url}`,
    rawHeaders: request.headers,
    values: createContextValues().set(callLoggerKey, request.log),
    timeoutMs: timeout.timeoutMs,
  });
}

/**
 * untilAborted settles like the promise, or rejects with the signal's
 * reason as soon as it aborts (deadline reached, client gone), so that a
 * handler that ignores its signal cannot hold the response past its
 * deadline.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error as Error);
      },
    );
  });
}
