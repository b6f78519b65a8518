import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  context,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_PATH } from "@opentelemetry/semantic-conventions";
import { callProtocol, type CallProtocol } from "./call-protocol.js";
import { HTTP_STATUS_BY_CODE } from "./http-errors.js";
import { isPushedStream, observePushed } from "./pushed-stream.js";

// The RPC attributes are still "incubating" in OpenTelemetry's semantic
// conventions, whose authors ask users to copy them rather than import them:
// an incubating name may change in a minor release of the package.
const ATTR_RPC_SYSTEM = "rpc.system";
const ATTR_RPC_SERVICE = "rpc.service";
const ATTR_RPC_METHOD = "rpc.method";
const ATTR_RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code";

/** rpc.system of each wire protocol: gRPC-Web is gRPC's framing over HTTP/1.1 or 2. */
const RPC_SYSTEM: Readonly<Record<CallProtocol, string>> = {
  grpc: "grpc",
  "grpc-web": "grpc",
  connect: "connect_rpc",
  rest: "http",
};

// Status codes that mean the server failed, after the RPC conventions for
// server spans; a client's mistake (NOT_FOUND, INVALID_ARGUMENT) is not an
// error of the gateway's span.
const SERVER_FAULTS: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

const HEADERS_GETTER: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * CallTracingOptions say where call spans go and how a caller's trace
 * context is read.
 */
export interface CallTracingOptions {
  /** Starts the spans. */
  tracer: Tracer;
  /** Reads the caller's context from request headers (W3C `traceparent` and `tracestate`). */
  propagator: TextMapPropagator;
}

/**
 * createCallTracing returns the interceptor that gives every call one
 * server span, named `service/Method` with OpenTelemetry's RPC attributes
 * (and HTTP ones for REST), child of the span the caller's `traceparent`
 * names. The handler runs in the span's context, so spans it starts (a
 * Redis round trip) are the call's children. A stream's span ends when the
 * stream does.
 *
 * It belongs outermost in the interceptor chain, so that the span also
 * covers calls refused further in. The gateway leaves it out of the chain
 * when tracing is off, so an untraced call pays nothing for it.
 */
export function createCallTracing(options: CallTracingOptions): Interceptor {
  const { tracer, propagator } = options;
  return (next) => async (req) => {
    const protocol = callProtocol(req);
    const service = req.service.typeName;
    const attributes: Attributes = {
      [ATTR_RPC_SYSTEM]: RPC_SYSTEM[protocol],
      [ATTR_RPC_SERVICE]: service,
      [ATTR_RPC_METHOD]: req.method.name,
    };
    if (protocol === "rest") {
      attributes[ATTR_HTTP_REQUEST_METHOD] = req.requestMethod;
      attributes[ATTR_URL_PATH] = pathOf(req.url);
    }
    const parent = propagator.extract(ROOT_CONTEXT, req.header, HEADERS_GETTER);
    const span = tracer.startSpan(`${service}/${req.method.name}`, { kind: SpanKind.SERVER, attributes }, parent);
    const call = { span, protocol, signal: req.signal, ended: false };
    let res;
    try {
      res = await context.with(trace.setSpan(parent, span), () => next(req));
    } catch (error) {
      end(call, error);
      throw error;
    }
    if (!res.stream) {
      end(call, undefined);
      return res;
    }
    const message = isPushedStream(res.message)
      ? observePushed(res.message, { batch: () => {}, end: (error) => end(call, error) })
      : endWith(res.message, call);
    return { ...res, message };
  };
}

interface TracedCall {
  readonly span: Span;
  readonly protocol: CallProtocol;
  readonly signal: AbortSignal;
  ended: boolean;
}

async function* endWith<T>(messages: AsyncIterable<T>, call: TracedCall): AsyncGenerator<T> {
  let failure: unknown;
  try {
    yield* messages;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    end(call, failure);
  }
}

function end(call: TracedCall, error: unknown): void {
  if (call.ended) return;
  call.ended = true;
  let code: Code | 0 = 0;
  if (error !== undefined) code = ConnectError.from(error).code;
  // A stream the client cancelled ends without an error on the server side.
  else if (call.signal.aborted) code = ConnectError.from(call.signal.reason, Code.Canceled).code;
  const { span } = call;
  span.setAttribute(ATTR_RPC_GRPC_STATUS_CODE, code);
  if (call.protocol === "rest") span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, code === 0 ? 200 : HTTP_STATUS_BY_CODE[code]);
  if (code !== 0 && SERVER_FAULTS.has(code)) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(error ?? call.signal.reason).rawMessage });
    if (error !== undefined) span.recordException(error instanceof Error ? error : String(error));
  }
  span.end();
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
