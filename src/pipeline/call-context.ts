import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http2";
import { callProtocolKey, type CallProtocol } from "./call-protocol.js";
import { callTimeoutKey } from "./deadline-gate.js";

/**
 * CallContextInit is what a lane knows of a call when it starts.
 */
export interface CallContextInit {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocol: CallProtocol;
  readonly requestMethod: string;
  readonly url: string;
  /** Request headers as Node has them; turned into Headers only if asked for. */
  readonly rawHeaders: IncomingHttpHeaders;
  /** Values the call starts with (a logger, say). Default: none. */
  readonly values?: ContextValues;
  /** Milliseconds until the deadline. Default: none. */
  readonly timeoutMs?: number;
  /** Called when the deadline passes, after the signal aborted. Default: none. */
  readonly onTimeout?: (error: ConnectError) => void;
}

/**
 * CallControl is the lanes' side of a call's context: it ends the call's
 * signal, stops its deadline, and tells which headers anything created.
 * Interceptors and the implementation see only its `context`, as Connect's
 * handlers keep their own bookkeeping out of the HandlerContext.
 *
 * Connect builds three Headers, a deadline timer and two linked
 * AbortControllers for every call; most unary calls never look at any of
 * them, so each one is built the first time something asks.
 */
export class CallControl {
  /** The HandlerContext the interceptors and the implementation see. */
  readonly context: CallContext;
  private controller: AbortController | undefined;
  private request: Headers | undefined;
  private response: Headers | undefined;
  private trailer: Headers | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly rawHeaders: IncomingHttpHeaders;

  constructor(init: CallContextInit) {
    this.rawHeaders = init.rawHeaders;
    const timeoutMs = init.timeoutMs;
    this.context = new CallContext(this, init, timeoutMs === undefined ? undefined : Date.now() + timeoutMs);
    if (timeoutMs !== undefined) {
      const onTimeout = init.onTimeout;
      this.deadlineTimer = setTimeout(() => {
        const error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
        this.abort(error);
        onTimeout?.(error);
      }, timeoutMs);
    }
  }

  /** The call's signal, built on first use. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** The request headers, converted from Node's on first use. */
  get requestHeader(): Headers {
    return (this.request ??= requestHeaders(this.rawHeaders));
  }

  /** The response headers, created on first use. */
  get responseHeader(): Headers {
    return (this.response ??= new Headers());
  }

  /** The response trailers, created on first use. */
  get responseTrailer(): Headers {
    return (this.trailer ??= new Headers());
  }

  /** The request headers if anything asked for them. */
  /** The call's signal when it was aborted; undefined otherwise, without building a signal no one asked for. */
  get abortedSignal(): AbortSignal | undefined {
    const signal = this.controller?.signal;
    return signal?.aborted === true ? signal : undefined;
  }

  get requestHeaderIfAny(): Headers | undefined {
    return this.request;
  }

  /** The response headers if anything created them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.response;
  }

  /** The trailers if anything created them. */
  get trailerIfAny(): Headers | undefined {
    return this.trailer;
  }

  /**
   * replaceRequestHeader gives the implementation the headers of a request
   * an interceptor built, as Connect's handlers do.
   */
  replaceRequestHeader(headers: Headers): void {
    this.request = headers;
  }

  /** abort ends the call's signal, once, and stops its deadline timer. */
  abort(reason?: unknown): void {
    this.done();
    const controller = (this.controller ??= new AbortController());
    if (!controller.signal.aborted) controller.abort(reason);
  }

  /** done stops the deadline timer of a call that finished. */
  done(): void {
    if (this.deadlineTimer !== undefined) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }
}

/**
 * CallContext is the HandlerContext of a call on a lane of the gateway's
 * own (the gRPC lane, REST): read-only, with its headers and signal kept
 * by the call's CallControl.
 */
export class CallContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  readonly requestMethod: string;
  readonly url: string;
  readonly values: ContextValues;
  readonly #control: CallControl;
  readonly #deadline: number | undefined;

  /** Built by CallControl, which owns the state behind it. */
  constructor(control: CallControl, init: CallContextInit, deadline: number | undefined) {
    this.#control = control;
    this.#deadline = deadline;
    this.service = init.service;
    this.method = init.method;
    this.protocolName = init.protocol;
    this.requestMethod = init.requestMethod;
    this.url = init.url;
    this.values = (init.values ?? createContextValues()).set(callProtocolKey, init.protocol);
    if (init.timeoutMs !== undefined) this.values.set(callTimeoutKey, init.timeoutMs);
  }

  get signal(): AbortSignal {
    return this.#control.signal;
  }

  get requestHeader(): Headers {
    return this.#control.requestHeader;
  }

  get responseHeader(): Headers {
    return this.#control.responseHeader;
  }

  get responseTrailer(): Headers {
    return this.#control.responseTrailer;
  }

  // A property, not a method: handlers may pass it on detached from the context.
  readonly timeoutMs = (): number | undefined => (this.#deadline === undefined ? undefined : this.#deadline - Date.now());
}

function requestHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const key in raw) {
    // Pseudo-headers are HTTP/2 framing, not metadata; Connect drops them too.
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = raw[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(key, item);
    else headers.set(key, value);
  }
  return headers;
}
