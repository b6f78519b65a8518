import { create, isMessage, type DescMessage, type DescMethod, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type Interceptor,
  type MethodImplSpec,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import type { CallContext } from "./call-context.js";

type AnyFn = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

const callContextKey = Symbol("callContext");
type WithContext = { [callContextKey]: CallContext };

/**
 * CallPipeline runs one method's calls through the interceptor chain to its
 * implementation, for the lanes that do not go through Connect's handlers.
 *
 * Connect composes the chain and builds its request, response, headers and
 * signal anew for every call; here the chain is composed once per method,
 * and the request and response carry getters that build headers and the
 * signal only when an interceptor or the implementation asks for them.
 */
export interface CallPipeline {
  readonly spec: MethodImplSpec;
  /** Runs a unary call; resolves to the response (message, header, trailer). */
  unary(context: CallContext, input: Message): Promise<UnaryResponse>;
  /** Starts a server-streaming call; resolves to the response whose message is the stream. */
  serverStream(context: CallContext, input: Message): Promise<StreamResponse>;
}

/**
 * createCallPipeline composes the interceptors (outermost first) around a
 * unary or server-streaming implementation, once: the gateway's chain is
 * frozen when it is built, so the composition never goes stale.
 */
export function createCallPipeline(spec: MethodImplSpec, interceptors: readonly Interceptor[]): CallPipeline {
  const chain = compose(spec, interceptors);
  return {
    spec,
    unary: (context, input) => chain(callRequest<UnaryRequest>(spec.method, context, false, input)) as Promise<UnaryResponse>,
    serverStream: (context, input) =>
      chain(callRequest<StreamRequest>(spec.method, context, true, createAsyncIterable([input]))) as Promise<StreamResponse>,
  };
}

/**
 * responseHeaderOf gives the response headers a call set, undefined when
 * it set none.
 */
export function responseHeaderOf(context: CallContext, response: UnaryResponse | StreamResponse): Headers | undefined {
  // An interceptor may answer with a response of its own making.
  return response === context.ownResponse ? context.responseHeaderIfAny : response.header;
}

/**
 * responseTrailerOf gives the response trailers a call set, undefined when
 * it set none.
 */
export function responseTrailerOf(context: CallContext, response: UnaryResponse | StreamResponse): Headers | undefined {
  return response === context.ownResponse ? context.trailerIfAny : response.trailer;
}

/**
 * normalize makes a message of what an implementation returned (a message
 * or an init object), as Connect does.
 */
export function normalize(schema: DescMessage, message: unknown): unknown {
  return isMessage(message, schema) ? message : create(schema, message as never);
}

function compose(spec: MethodImplSpec, interceptors: readonly Interceptor[]): AnyFn {
  const method = spec.method;
  let next: AnyFn;
  if (spec.kind === "unary") {
    next = async (req) => {
      const context = contextOf(req);
      const output = await spec.impl(req.message as never, context);
      return callResponse<UnaryResponse>(method, context, false, normalize(method.output, output));
    };
  } else if (spec.kind === "server_streaming") {
    next = async (req) => {
      const context = contextOf(req);
      const input = await single(req.message as AsyncIterable<unknown>);
      const output = spec.impl(input as never, context);
      return callResponse<StreamResponse>(method, context, true, output);
    };
  } else {
    throw new Error(`the gRPC lane does not serve ${spec.kind} methods`);
  }
  for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as AnyFn;
  return next;
}

// An interceptor may hand on a request with other headers or values; the
// implementation must see those, as it does on Connect's lane.
function contextOf(req: UnaryRequest | StreamRequest): CallContext {
  const context = (req as unknown as WithContext)[callContextKey];
  if (req !== context.ownRequest && req.header !== context.requestHeaderIfAny) context.requestHeader = req.header;
  return context;
}

function callRequest<R extends UnaryRequest | StreamRequest>(method: DescMethod, context: CallContext, stream: R["stream"], message: R["message"]): R {
  return (context.ownRequest = {
    [callContextKey]: context,
    stream,
    service: method.parent,
    method,
    requestMethod: context.requestMethod,
    url: context.url,
    contextValues: context.values,
    message,
    get signal() {
      return context.signal;
    },
    get header() {
      return context.requestHeader;
    },
  } as unknown as R);
}

function callResponse<R extends UnaryResponse | StreamResponse>(method: DescMethod, context: CallContext, stream: R["stream"], message: unknown): R {
  return (context.ownResponse = {
    stream,
    service: method.parent,
    method,
    message,
    get header() {
      return context.responseHeader;
    },
    get trailer() {
      return context.responseTrailer;
    },
  } as unknown as R);
}

async function single(messages: AsyncIterable<unknown>): Promise<unknown> {
  for await (const message of messages) return message;
  throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
}

