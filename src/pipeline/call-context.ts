import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http2";
import { callProtocolKey, type CallProtocol } from "./call-protocol.js";

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
  /** Called when the deadline passes, after the signal aborted. */
  readonly onTimeout?: (error: ConnectError) => void;
}

/**
 * CallContext is the HandlerContext of a call on a lane of the gateway's
 * own (the gRPC lane, REST).
 *
 * Connect builds three Headers, a deadline timer and two linked
 * AbortControllers for every call; most unary calls never look at any of
 * them, so this context builds each one the first time something asks.
 */
export class CallContext implements HandlerContext {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly protocolName: string;
  readonly requestMethod: string;
  readonly url: string;
  readonly values: ContextValues;
  /** True once the call's status went out (or the stream is gone). */
  answered = false;
  /** The request the pipeline built, to tell it from one an interceptor made. */
  ownRequest: object | undefined;
  /** The response the pipeline built, to tell it from one an interceptor made. */
  ownResponse: object | undefined;
  private controller: AbortController | undefined;
  private request: Headers | undefined;
  private response: Headers | undefined;
  private trailer: Headers | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;

  private readonly rawHeaders: IncomingHttpHeaders;

  constructor(init: CallContextInit) {
    this.service = init.service;
    this.method = init.method;
    this.protocolName = init.protocol;
    this.requestMethod = init.requestMethod;
    this.url = init.url;
    this.rawHeaders = init.rawHeaders;
    this.values = (init.values ?? createContextValues()).set(callProtocolKey, init.protocol);
    const timeoutMs = init.timeoutMs;
    if (timeoutMs !== undefined) {
      const onTimeout = init.onTimeout;
      this.deadline = Date.now() + timeoutMs;
      this.deadlineTimer = setTimeout(() => {
        const error = new ConnectError("the operation timed out", Code.DeadlineExceeded);
        this.abort(error);
        onTimeout?.(error);
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  get aborted(): boolean {
    return this.controller?.signal.aborted ?? false;
  }

  get requestHeader(): Headers {
    return (this.request ??= requestHeaders(this.rawHeaders));
  }

  set requestHeader(headers: Headers) {
    this.request = headers;
  }

  get responseHeader(): Headers {
    return (this.response ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.trailer ??= new Headers());
  }

  /** True once the implementation set a response header or trailer. */
  get hasResponseMetadata(): boolean {
    return this.response !== undefined || this.trailer !== undefined;
  }

  /** The request headers if anything asked for them. */
  get requestHeaderIfAny(): Headers | undefined {
    return this.request;
  }

  /** The trailer headers if anything created them. */
  get trailerIfAny(): Headers | undefined {
    return this.trailer;
  }

  /** The response headers if anything created them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.response;
  }

  timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());

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
