import { create, type Message } from "@bufbuild/protobuf";
import { createServiceImplSpec } from "@connectrpc/connect";
import { compressionNegotiate, type Compression } from "@connectrpc/connect/protocol";
import { contentTypeProto, parseTimeout } from "@connectrpc/connect/protocol-grpc";
import type * as http2 from "node:http2";
import { createCallPipeline, type CallPipeline } from "../../pipeline/call-pipeline.js";
import { deadlineHasPassed } from "../../pipeline/deadline-gate.js";
import type { ServiceRegistration } from "../../pipeline/service-registry.js";
import { GrpcCall } from "./grpc-call.js";
import { validateGrpcLaneOptions, type GrpcLaneOptions, type ResolvedGrpcLaneOptions } from "./grpc-lane-options.js";
import { readRequest } from "./request-reader.js";
import { ResponseWriter } from "./response-writer.js";
import { writeServerStream } from "./server-stream.js";
import { takeOverStreams } from "./stream-takeover.js";

export type { GrpcLaneOptions } from "./grpc-lane-options.js";

interface LaneMethod {
  readonly url: string;
  readonly pipeline: CallPipeline;
}

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
  const opt = validateGrpcLaneOptions(options);
  const methods = methodTable(registrations, opt);

  // The server's own listener turns streams into compat requests for its
  // 'request' handler; the lane goes first and passes on what it does not take.
  const giveBack = takeOverStreams(server, (stream, headers) => {
    const method = methods.get(headers[":path"] ?? "");
    if (method === undefined || headers[":method"] !== "POST" || !isGrpcProto(headers["content-type"]) || isWebSocketish(headers)) return false;
    const encoding = headers["grpc-encoding"];
    const compression = compressionNegotiate(
      opt.acceptCompression as Compression[],
      typeof encoding === "string" ? encoding : null,
      headerValue(headers["grpc-accept-encoding"]),
      "grpc-accept-encoding",
    );
    // Unknown encodings get Connect's standard answer on the other lane.
    if (compression.error !== undefined) return false;
    serve(method, stream, headers, compression.request, compression.response);
    return true;
  });

  function serve(
    method: LaneMethod,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    requestCompression: Compression | null,
    responseCompression: Compression | null,
  ): void {
    const spec = method.pipeline.spec;
    const requestId = opt.requestId?.(headers);
    const writer = new ResponseWriter(stream, spec.method.output, responseCompression, opt, requestId);
    const timeout = parseTimeout(headerValue(headers["grpc-timeout"]), opt.maxTimeoutMs);
    const call = new GrpcCall(writer, {
      service: spec.method.parent,
      method: spec.method,
      protocol: "grpc",
      requestMethod: "POST",
      url: method.url,
      rawHeaders: headers,
      values: opt.contextValues?.(headers, requestId),
      timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    });
    if (timeout.error !== undefined) {
      call.finish({ ok: false, error: timeout.error });
      return;
    }
    if (refusedFromHeaders(spec.method.parent.typeName, headers, call.control.context.timeoutMs())) {
      // Auth or a passed deadline refuses this call whatever its body
      // holds: the chain refuses it as usual (counted, logged), with an
      // empty message standing in for a body that is never read.
      run(method, call, writer, create(spec.method.input)).catch((error: unknown) => call.finish({ ok: false, error }));
      return;
    }
    const kind = spec.kind === "unary" ? "unary" : "server-streaming";
    readRequest(stream, {
      schema: spec.method.input,
      kind,
      compression: requestCompression,
      readMaxBytes: opt.readMaxBytes,
      bodyTimeoutMs: opt.bodyTimeoutMs,
      budget: opt.budget,
    })
      .then((input) => run(method, call, writer, input))
      .catch((error: unknown) => call.finish({ ok: false, error }));
  }

  function refusedFromHeaders(service: string, headers: http2.IncomingHttpHeaders, timeoutMs: number | undefined): boolean {
    if (deadlineHasPassed(timeoutMs)) return true;
    const authorization = headers.authorization;
    return opt.refuses?.(service, authorization) ?? false;
  }

  async function run(method: LaneMethod, call: GrpcCall, writer: ResponseWriter, input: Message): Promise<void> {
    if (method.pipeline.spec.kind !== "unary") {
      const response = await method.pipeline.serverStream(call.control, input);
      return writeServerStream(call, response, writer, opt.streamBudget);
    }
    const response = await method.pipeline.unary(call.control, input);
    call.control.done();
    if (call.ended) return;
    // Encoded before the call counts as answered: a response over
    // writeMaxBytes must still be answered, with RESOURCE_EXHAUSTED.
    const message = await writer.encode(response.message);
    call.finish({ ok: true, header: response.header(), trailer: response.trailer(), message });
  }

  return { uninstall: giveBack };
}

function methodTable(registrations: readonly ServiceRegistration[], opt: ResolvedGrpcLaneOptions): Map<string, LaneMethod> {
  const methods = new Map<string, LaneMethod>();
  for (const { service, implementation } of registrations) {
    const serviceSpec = createServiceImplSpec(service, implementation as never);
    for (const spec of Object.values(serviceSpec.methods)) {
      if (spec.kind !== "unary" && spec.kind !== "server_streaming") continue;
      const url = `/${service.typeName}/${spec.method.name}`;
      methods.set(url, { url, pipeline: createCallPipeline(spec, opt.interceptors) });
    }
  }
  return methods;
}

// Exactly the binary gRPC content types; JSON and parameters go to Connect's handler.
function isGrpcProto(contentType: string | undefined): boolean {
  return contentType === "application/grpc" || contentType === contentTypeProto;
}

function isWebSocketish(headers: http2.IncomingHttpHeaders): boolean {
  return headers[":protocol"] !== undefined;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}
