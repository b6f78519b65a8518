import { createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-connect";
import type { FastifyRequest } from "fastify";
import { callLoggerKey } from "../server/call-observer.js";
import { CallContext } from "../server/call-context.js";
import { callProtocolKey } from "../server/call-protocol.js";
import type { HttpBinding } from "./http-bindings.js";

/** RestCallContext is a HandlerContext the transcoder can abort. */
export type RestCallContext = HandlerContext & { abort(reason?: unknown): void };

/**
 * TIMEOUT_HEADER gives a REST call a deadline in milliseconds, as it does
 * for Connect callers.
 */
export const TIMEOUT_HEADER = "connect-timeout-ms";

/**
 * createRestCallContext builds the handler context of a REST call the way
 * Connect's own handlers do: request headers (Authorization included) pass
 * through, the timeout header sets a deadline (one above maxTimeoutMs is
 * refused as Connect refuses it), the signal aborts when the client goes
 * away or the server shuts down, and the call protocol is "rest".
 */
export function createRestCallContext(
  request: FastifyRequest,
  binding: HttpBinding,
  clientGone: AbortSignal,
  limits: { maxTimeoutMs?: number; shutdownSignal?: AbortSignal } = {},
): RestCallContext {
  const header = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    // HTTP/2 pseudo-headers (":path") are not metadata.
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) header.append(name, v);
    else header.set(name, value);
  }
  const timeout = parseTimeout(header.get(TIMEOUT_HEADER), limits.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER);
  const contextValues = createContextValues();
  contextValues.set(callProtocolKey, "rest");
  contextValues.set(callLoggerKey, request.log);
  const context = createHandlerContext({
    service: binding.method.parent,
    method: binding.method,
    protocolName: "rest",
    requestMethod: request.method,
    url: `${request.protocol}://${request.host}${request.url}`,
    timeoutMs: timeout.timeoutMs,
    requestSignal: clientGone,
    shutdownSignal: limits.shutdownSignal,
    requestHeader: header,
    contextValues,
  });
  if (timeout.error !== undefined) {
    context.abort(timeout.error);
    throw timeout.error;
  }
  return context;
}

/**
 * createRestUnaryContext builds the context of a unary REST call on the
 * gateway's lean call context: the same headers, deadline (refused above
 * maxTimeoutMs) and protocol as createRestCallContext, built only when
 * something asks for them.
 */
export function createRestUnaryContext(
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
