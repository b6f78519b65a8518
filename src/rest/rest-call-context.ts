import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-connect";
import type { IncomingHttpHeaders } from "node:http";
import { CallControl } from "../pipeline/call-context.js";
import type { HttpBinding } from "./http-bindings.js";

/**
 * TIMEOUT_HEADER gives a REST call a deadline in milliseconds, as it does
 * for Connect callers.
 */
export const TIMEOUT_HEADER = "connect-timeout-ms";

/**
 * RestCall is one REST call: its context, and whether it answered, which
 * tells a client that went away (a cancellation) from one that got its
 * answer. As on the gRPC lane, every way out goes through `finish`.
 */
export class RestCall {
  /** The call's context; its `context` is what the handler sees. */
  readonly control: CallControl;
  private answered = false;

  constructor(
    control: CallControl,
    response: ClosingResponse,
    private readonly streaming: boolean,
  ) {
    this.control = control;
    response.once("close", () => {
      if (!this.answered) control.abort(new ConnectError("client disconnected", Code.Canceled));
    });
  }

  /**
   * finish marks the call answered, ends its signal with the error if it
   * failed, and stops its deadline. It may be called more than once: once
   * the answer is under way, and again when the route is done.
   */
  finish(failure?: { readonly error: unknown }): void {
    this.answered = true;
    if (failure !== undefined) this.control.abort(failure.error);
    else this.control.done();
    // A stream's call ends with its signal, which releases whatever the
    // handler still holds (a subscription parked on its next read after
    // the stream was interrupted on shutdown).
    if (this.streaming) this.control.abort();
  }
}

/** ClosingResponse is the one thing a call needs of its response: that it says when it closes. */
export interface ClosingResponse {
  once(event: "close", listener: () => void): unknown;
}

/**
 * RestCallInit is what a REST call starts from, whether the Fastify route
 * or the REST lane took its request.
 */
export interface RestCallInit {
  readonly binding: HttpBinding;
  readonly requestMethod: string;
  /** The request's full URL: scheme, authority, path and query. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Values the call starts with (its logger). */
  readonly values: ContextValues | undefined;
  /** The response whose closing before the answer cancels the call. */
  readonly response: ClosingResponse;
  /** Longest deadline a caller may ask for. Default: no limit. */
  readonly maxTimeoutMs?: number;
}

/**
 * createRestCall starts a REST call the way Connect's own handlers do, on
 * the gateway's lean call context: request headers (Authorization
 * included) pass through, the timeout header sets a deadline (one above
 * maxTimeoutMs, or malformed, is thrown as Connect refuses it, before
 * anything is made), and the call protocol is "rest". Headers and signal
 * are built only when something asks for them. Shutdown ends REST streams
 * through the shared stream-drain interceptor, as it does every other
 * stream.
 */
export function createRestCall(init: RestCallInit): RestCall {
  const rawTimeout = init.headers[TIMEOUT_HEADER];
  const timeout = parseTimeout(typeof rawTimeout === "string" ? rawTimeout : null, init.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER);
  if (timeout.error !== undefined) throw timeout.error;
  const binding = init.binding;
  const control = new CallControl({
    service: binding.method.parent,
    method: binding.method,
    protocol: "rest",
    requestMethod: init.requestMethod,
    url: init.url,
    rawHeaders: init.headers,
    values: init.values,
    timeoutMs: timeout.timeoutMs,
  });
  return new RestCall(control, init.response, binding.spec.kind !== "unary");
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
