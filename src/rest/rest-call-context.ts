import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { parseTimeout } from "@connectrpc/connect/protocol-connect";
import type { FastifyReply, FastifyRequest } from "fastify";
import { callLoggerKey } from "../pipeline/call-observer.js";
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
    reply: FastifyReply,
    private readonly streaming: boolean,
  ) {
    this.control = control;
    reply.raw.once("close", () => {
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

/**
 * createRestCall starts a REST call the way Connect's own handlers do, on
 * the gateway's lean call context: request headers (Authorization
 * included) pass through, the timeout header sets a deadline (one above
 * maxTimeoutMs is refused as Connect refuses it), and the call protocol is
 * "rest". Headers and signal are built only when something asks for them.
 * Shutdown ends REST streams through the shared stream-drain interceptor,
 * as it does every other stream.
 */
export function createRestCall(
  request: FastifyRequest,
  reply: FastifyReply,
  binding: HttpBinding,
  limits: { maxTimeoutMs?: number } = {},
): RestCall {
  const rawTimeout = request.headers[TIMEOUT_HEADER];
  const timeout = parseTimeout(typeof rawTimeout === "string" ? rawTimeout : null, limits.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER);
  if (timeout.error !== undefined) throw timeout.error;
  const control = new CallControl({
    service: binding.method.parent,
    method: binding.method,
    protocol: "rest",
    requestMethod: request.method,
    url: `${request.protocol}://${request.host}${request.url}`,
    rawHeaders: request.headers,
    values: createContextValues().set(callLoggerKey, request.log),
    timeoutMs: timeout.timeoutMs,
  });
  return new RestCall(control, reply, binding.spec.kind !== "unary");
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
