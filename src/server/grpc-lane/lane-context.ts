import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http2";
import { callProtocolKey } from "../call-protocol.js";

/**
 * LaneContext is the HandlerContext of a call on the gRPC lane.
 *
 * Connect builds three Headers, a deadline timer and two linked
 * AbortControllers for every call; most unary calls never look at any of
 * them, so this context builds each one the first time something asks.
 */
export class LaneContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  readonly values: ContextValues;
  /** True once the call's status went out (or the stream is gone). */
  answered = false;
  /** The request the lane built, to tell it from one an interceptor made. */
  ownRequest: object | undefined;
  /** The response the lane built, to tell it from one an interceptor made. */
  ownResponse: object | undefined;
  private controller: AbortController | undefined;
  private request: Headers | undefined;
  private response: Headers | undefined;
  private trailer: Headers | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly deadline: number | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly url: string,
    private readonly rawHeaders: IncomingHttpHeaders,
    values: ContextValues | undefined,
    timeoutMs: number | undefined,
    onTimeout?: (error: ConnectError) => void,
  ) {
    this.values = (values ?? createContextValues()).set(callProtocolKey, "grpc");
    if (timeoutMs !== undefined) {
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
