import { fromBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createServiceImplSpec,
  type ContextValues,
  type Interceptor,
  type StreamResponse,
  type UnaryResponse,
} from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type * as http2 from "node:http2";
import type { ServiceRegistration } from "../../pipeline/service-registry.js";
import { framedMessage } from "./frame-cache.js";
import { COMPRESSED_FLAG, FRAME_PREFIX_BYTES, frameMessage, headersObject, OK_TRAILERS, parseSingleFrame, statusTrailers } from "./grpc-frames.js";
import { CallContext } from "../../pipeline/call-context.js";
import { createCallPipeline, normalize, responseHeaderOf, responseTrailerOf, type CallPipeline } from "../../pipeline/call-pipeline.js";
import { FlushScheduler, StreamWriter } from "./stream-writer.js";
import { isBatchedIterable, messageBatches } from "../../pipeline/message-batches.js";

/**
 * GrpcLaneOptions configure the gRPC lane; they mirror the options of
 * Connect's handlers so that both lanes behave alike.
 */
export interface GrpcLaneOptions {
  /** Interceptors every call passes through, outermost first. Default none. */
  interceptors?: readonly Interceptor[];
  /** Compressions accepted and offered. Default gzip and br, as connect-node. */
  acceptCompression?: readonly Compression[];
  /** Smallest response message worth compressing. Default 1024 bytes. */
  compressMinBytes?: number;
  /** Largest request message accepted. Default 4 GiB - 1. */
  readMaxBytes?: number;
  /** Largest response message sent. Default 4 GiB - 1. */
  writeMaxBytes?: number;
  /** Longest deadline a client may ask for. Default unlimited. */
  maxTimeoutMs?: number;
  /** Shortest time between two flushes of a busy server stream. Default 5 ms. */
  flushWindowMs?: number;
  /** Values a call's context starts with, from its request headers (a logger, say). Default none. */
  contextValues?: (headers: http2.IncomingHttpHeaders) => ContextValues;
}

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

interface LaneMethod {
  readonly url: string;
  readonly pipeline: CallPipeline;
}


const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = Object.freeze({
  ":status": 200,
  "content-type": "application/grpc+proto",
});

/**
 * GrpcLane is installed on an HTTP/2 server; uninstall gives every stream
 * back to the server's own request handling.
 */
export interface GrpcLane {
  uninstall(): void;
}

/**
 * installGrpcLane puts a lean gRPC lane in front of an HTTP/2 server's
 * request handling: `application/grpc` (protobuf) unary and
 * server-streaming calls of the registered services are decoded, run
 * through the same interceptors and implementations, and answered straight
 * on the HTTP/2 stream; every other stream (Connect, gRPC-Web, JSON, client
 * and bidi streams, anything unusual) goes on to the server's request
 * handler (Fastify, with connect-fastify) as before.
 *
 * Connect's generic handler pipeline (async iterables, per-call abort
 * controllers, header conversions) costs several times the work of the
 * call itself; this lane does the same work with none of that.
 */
export function installGrpcLane(
  server: http2.Http2Server | http2.Http2SecureServer,
  registrations: readonly ServiceRegistration[],
  options: GrpcLaneOptions = {},
): GrpcLane {
  const interceptors = options.interceptors ?? [];
  const acceptCompression = options.acceptCompression ?? [compressionGzip, compressionBrotli];
  const compressMinBytes = options.compressMinBytes ?? 1024;
  const readMaxBytes = options.readMaxBytes ?? 0xffffffff;
  const writeMaxBytes = options.writeMaxBytes ?? 0xffffffff;
  const maxTimeoutMs = options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER;
  const contextValues = options.contextValues;
  const flushScheduler = new FlushScheduler(options.flushWindowMs ?? 5);

  const methods = new Map<string, LaneMethod>();
  for (const { service, implementation } of registrations) {
    const serviceSpec = createServiceImplSpec(service, implementation as never);
    for (const spec of Object.values(serviceSpec.methods)) {
      if (spec.kind !== "unary" && spec.kind !== "server_streaming") continue;
      const url = `/${service.typeName}/${spec.method.name}`;
      methods.set(url, { url, pipeline: createCallPipeline(spec, interceptors) });
    }
  }

  // The server's own listener turns streams into compat requests for its
  // 'request' handler; the lane goes first and passes on what it does not take.
  const passOn = server.listeners("stream") as StreamListener[];
  server.removeAllListeners("stream");
  const onStream: StreamListener = function (this: unknown, stream, headers, flags, rawHeaders) {
    const method = methods.get(headers[":path"] ?? "");
    if (method !== undefined && headers[":method"] === "POST" && isGrpcProto(headers["content-type"]) && !isWebSocketish(headers)) {
      const encoding = headers["grpc-encoding"];
      const compression = compressionNegotiate(
        acceptCompression as Compression[],
        typeof encoding === "string" ? encoding : null,
        headerValue(headers["grpc-accept-encoding"]),
        "grpc-accept-encoding",
      );
      // Unknown encodings get Connect's standard answer on the other lane.
      if (compression.error === undefined) {
        serve(method, stream, headers, compression.request, compression.response);
        return;
      }
    }
    for (const listener of passOn) listener.call(this, stream, headers, flags, rawHeaders);
  };
  server.on("stream", onStream);

  function serve(
    method: LaneMethod,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    requestCompression: Compression | null,
    responseCompression: Compression | null,
  ): void {
    // An 'error' with no listener would take the process down; the call's
    // own 'close' handling is what matters.
    stream.on("error", ignore);
    const timeout = parseTimeout(headerValue(headers["grpc-timeout"]), maxTimeoutMs);
    const context: CallContext = new CallContext({
      service: method.pipeline.spec.method.parent,
      method: method.pipeline.spec.method,
      protocol: "grpc",
      requestMethod: "POST",
      url: method.url,
      rawHeaders: headers,
      values: contextValues?.(headers),
      timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
      // The client stops waiting at its deadline: say so at once rather
      // than when a slow implementation gets round to returning.
      onTimeout: (error) => fail(stream, context, error),
    });
    stream.once("close", () => {
      // A stream that closes before its call answered was cancelled by the client.
      if (!context.answered) context.abort(new ConnectError("the operation was aborted", Code.Canceled));
    });
    if (timeout.error !== undefined) return fail(stream, context, timeout.error);

    let body: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let received = 0;
    let rejected = false;
    stream.on("data", (chunk: Buffer) => {
      if (rejected) return;
      received += chunk.length;
      if (received > readMaxBytes + FRAME_PREFIX_BYTES) {
        rejected = true;
        fail(stream, context, new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      if (body === undefined) body = chunk;
      else (parts ??= [body]).push(chunk);
    });
    stream.once("end", () => {
      if (rejected) return;
      const all = parts !== undefined ? Buffer.concat(parts) : (body ?? Buffer.alloc(0));
      run(method, stream, context, all, requestCompression, responseCompression).catch((error: unknown) => fail(stream, context, error));
    });
  }

  async function run(
    method: LaneMethod,
    stream: http2.ServerHttp2Stream,
    context: CallContext,
    body: Buffer,
    requestCompression: Compression | null,
    responseCompression: Compression | null,
  ): Promise<void> {
    const spec = method.pipeline.spec;
    const frame = parseSingleFrame(body, readMaxBytes, spec.kind === "unary" ? "unary" : "server-streaming");
    let bytes = frame.bytes;
    if (frame.compressed) {
      if (requestCompression === null) {
        throw new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal);
      }
      bytes = await requestCompression.decompress(bytes, readMaxBytes);
    }
    const input = parse(spec.method.input, bytes);

    if (spec.kind === "unary") {
      const response = await method.pipeline.unary(context, input);
      context.done();
      if (stream.destroyed || context.answered) return;
      // Encoded before the call counts as answered: a response over
      // writeMaxBytes must still be answered, with RESOURCE_EXHAUSTED.
      const out = await encode(spec.method.output, response.message, responseCompression);
      if (stream.destroyed || context.answered) return;
      context.answered = true;
      respond(stream, context, response, responseCompression);
      const trailers = trailersOf(context, response);
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end(out);
      return;
    }

    const response = await method.pipeline.serverStream(context, input);
    const writer = new StreamWriter(stream, flushScheduler);
    let headersSent = false;
    const send = async (messages: Iterable<unknown>) => {
      if (!headersSent) {
        respond(stream, context, response, responseCompression);
        headersSent = true;
      }
      for (const message of messages) {
        const frame =
          responseCompression === null
            ? frameOf(spec.method.output, message)
            : await encode(spec.method.output, message, responseCompression);
        if (!writer.write(frame)) await writer.drained();
      }
    };
    if (isBatchedIterable(response.message)) {
      const batches = response.message[messageBatches]();
      for (;;) {
        // A failed read ends the call as it is; the source is not asked to return.
        const result = await batches.next();
        if (result.done === true) break;
        if (stream.destroyed || context.answered) {
          await batches.return?.();
          break;
        }
        try {
          await send(result.value);
          await writer.flushed();
        } catch (error) {
          await batches.return?.();
          throw error;
        }
      }
    } else {
      const one: unknown[] = [undefined];
      for await (const message of response.message) {
        if (stream.destroyed || context.answered) break;
        one[0] = message;
        await send(one);
      }
    }
    context.done();
    if (stream.destroyed || context.answered) return;
    context.answered = true;
    if (!headersSent) respond(stream, context, response, responseCompression);
    const trailers = trailersOf(context, response);
    writer.flush();
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end();
  }

  function frameOf(schema: DescMessage, message: unknown): Buffer {
    const frame = framedMessage(schema, normalize(schema, message) as never);
    if (frame.length - FRAME_PREFIX_BYTES > writeMaxBytes) throw writeLimit(frame.length - FRAME_PREFIX_BYTES);
    return frame;
  }

  async function encode(schema: DescMessage, message: unknown, compression: Compression | null): Promise<Buffer> {
    const frame = frameOf(schema, message);
    const size = frame.length - FRAME_PREFIX_BYTES;
    if (compression === null || size < compressMinBytes) return frame;
    return frameMessage(await compression.compress(frame.subarray(FRAME_PREFIX_BYTES)), COMPRESSED_FLAG);
  }

  function writeLimit(size: number): ConnectError {
    return new ConnectError(`message size ${size} is larger than configured writeMaxBytes ${writeMaxBytes}`, Code.ResourceExhausted);
  }

  return {
    uninstall() {
      server.off("stream", onStream);
      for (const listener of passOn) server.on("stream", listener);
    },
  };
}

// Only metadata that someone set costs a conversion.
function respond(
  stream: http2.ServerHttp2Stream,
  context: CallContext,
  response: UnaryResponse | StreamResponse,
  compression: Compression | null,
): void {
  const header = responseHeaderOf(context, response);
  let out = RESPONSE_HEADERS;
  if (header !== undefined || compression !== null) {
    out = { ...RESPONSE_HEADERS };
    if (header !== undefined) headersObject(header, out);
    if (compression !== null) out["grpc-encoding"] = compression.name;
  }
  stream.respond(out, { waitForTrailers: true });
}

function trailersOf(context: CallContext, response: UnaryResponse | StreamResponse): http2.OutgoingHttpHeaders {
  const trailer = responseTrailerOf(context, response);
  if (trailer === undefined) return OK_TRAILERS;
  const out = headersObject(trailer);
  out["grpc-status"] = "0";
  return out;
}

function fail(stream: http2.ServerHttp2Stream, context: CallContext, error: unknown): void {
  context.abort(error);
  if (context.answered || stream.destroyed) return;
  context.answered = true;
  const trailers = statusTrailers(error, context.trailerIfAny);
  if (!stream.headersSent) {
    // Trailers-only: the status goes in the one HEADERS frame.
    stream.respond({ ...RESPONSE_HEADERS, ...trailers }, { endStream: true });
  } else if (stream.writable) {
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end();
  } else {
    stream.close();
  }
}

function parse(schema: DescMessage, bytes: Uint8Array): Message {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    // gRPC servers answer INTERNAL to a request they cannot decode; Connect's words.
    throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
  }
}


function isGrpcProto(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === "application/grpc+proto";
}

function isWebSocketish(headers: http2.IncomingHttpHeaders): boolean {
  return headers[":protocol"] !== undefined;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}

function ignore(): void {}
