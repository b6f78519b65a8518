import { create, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createServiceImplSpec } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  type Compression,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { contentTypeJson, contentTypeProto, parseContentType, parseTimeout } from "@connectrpc/connect/protocol-grpc-web";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Readable } from "node:stream";
import { createCallPipeline, type CallPipeline } from "../../pipeline/call-pipeline.js";
import { deadlineHasPassed } from "../../pipeline/deadline-gate.js";
import { withFrozenOutputCache } from "../../pipeline/frozen-output-serialization.js";
import { proto3JsonOptions } from "../../pipeline/proto3-json.js";
import type { ServiceRegistration } from "../../pipeline/service-registry.js";
import { UnaryCall } from "../connect-lane/unary-call.js";
import type { LaneResponse } from "../connect-lane/unary-response.js";
import { FRAME_PREFIX_BYTES, parseSingleFrame } from "../grpc-lane/grpc-frames.js";
import { guardBody, type BodyLimits } from "../grpc-lane/request-reader.js";
import { validateGrpcLaneOptions, type GrpcLaneOptions, type ResolvedGrpcLaneOptions } from "../grpc-lane/grpc-lane-options.js";
import { writeGrpcWebAnswer } from "./grpc-web-response.js";
import { takeOverRequests } from "../request-takeover.js";
import { isHttp2Server, takeOverStreams } from "../grpc-lane/stream-takeover.js";
import { StreamResponse } from "../connect-lane/stream-response.js";

/**
 * GrpcWebLaneOptions configure the gRPC-Web lane: the same limits, chain
 * and request ids as the other lanes, from the same place.
 */
export type GrpcWebLaneOptions = GrpcLaneOptions;

type LaneRequest = http.IncomingMessage | http2.Http2ServerRequest;

interface LaneMethod {
  readonly pipeline: CallPipeline;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
}

/**
 * GrpcWebLane is installed on an HTTP server; uninstall gives every
 * request back to the server's own request handling.
 */
export interface GrpcWebLane {
  uninstall(): void;
}

/**
 * installGrpcWebLane puts a lean gRPC-Web lane in front of a server's
 * request handling, HTTP/1.1 or HTTP/2 alike: unary gRPC-Web calls of the
 * registered services (protobuf or JSON, gzip or br) run through the
 * shared call pipeline and are answered straight on the response.
 * Everything else (server streams, grpc-web-text, encodings Connect would
 * refuse, other routes) goes on to the server's handler (Fastify, with
 * connect-fastify), which stays the reference.
 */
export function installGrpcWebLane(
  server: http.Server | http2.Http2Server | http2.Http2SecureServer,
  registrations: readonly ServiceRegistration[],
  options: GrpcWebLaneOptions = {},
): GrpcWebLane {
  const opt = validateGrpcLaneOptions(options);
  const methods = methodTable(registrations, opt);
  const giveBack = takeOverRequests(server, serve);

  const giveBackStreams = isHttp2Server(server) ? takeOverStreams(server, serveStream) : undefined;

  // Serves a request that is a unary gRPC-Web call the lane knows; false otherwise.
  function serve(request: LaneRequest, response: LaneResponse): boolean {
    // An HTTP/2 request was looked at as a stream already, and passed on.
    if (giveBackStreams !== undefined && request.httpVersionMajor === 2) return false;
    return serveCall(request.method, request.url ?? "", request.headers, request, response);
  }

  // The same for a raw HTTP/2 stream, answered on the stream itself. The
  // gRPC lane's calls pass here first: they are told apart at once.
  function serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    if (headers["content-type"]?.startsWith("application/grpc-web") !== true) return false;
    return serveCall(headers[":method"], headers[":path"] ?? "", headers, stream, new StreamResponse(stream));
  }

  function serveCall(
    requestMethod: string | undefined,
    target: string,
    headers: http.IncomingHttpHeaders,
    body: Readable,
    response: LaneResponse,
  ): boolean {
    if (requestMethod !== "POST") return false;
    const method = methods.get(target);
    if (method === undefined) return false;
    const type = parseContentType(headers["content-type"] ?? null);
    if (type === undefined || type.text) return false;
    const compression = compressionNegotiate(
      opt.acceptCompression as Compression[],
      headerValue(headers["grpc-encoding"]),
      headerValue(headers["grpc-accept-encoding"]),
      "grpc-accept-encoding",
    );
    // Connect answers an encoding it does not know in its own words.
    if (compression.error !== undefined) return false;

    const spec = method.pipeline.spec;
    const requestId = opt.requestId?.(headers);
    const timeout = parseTimeout(headerValue(headers["grpc-timeout"]), opt.maxTimeoutMs);
    const wire = {
      contentType: type.binary ? contentTypeProto : contentTypeJson,
      compression: compression.response,
      compressMinBytes: opt.compressMinBytes,
      requestId,
    };
    const call = new UnaryCall(response, (res, status, control) => writeGrpcWebAnswer(res, status, control, wire), {
      service: spec.method.parent,
      method: spec.method,
      protocol: "grpc-web",
      requestMethod: "POST",
      url: target,
      rawHeaders: headers,
      values: opt.contextValues?.(headers, requestId),
      timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
    });
    if (timeout.error !== undefined) {
      call.finish({ ok: false, error: timeout.error });
      body.resume();
      return true;
    }
    const serialization = method.serialization.getI(type.binary);
    let input: Promise<unknown>;
    if (deadlineHasPassed(call.control.context.timeoutMs()) || opt.refuses?.(spec.method.parent.typeName, headers.authorization) === true) {
      // Refused whatever the body holds, as Connect's side refuses it: through
      // the chain as usual, with an empty message for a body never read.
      body.resume();
      input = Promise.resolve(create(spec.method.input));
    } else {
      input = readEnvelopedBody(body, opt.readMaxBytes, opt).then(async (bytes) => {
        const frame = parseSingleFrame(bytes, opt.readMaxBytes, "unary");
        if (!frame.compressed) return serialization.parse(frame.bytes);
        if (compression.request === null) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
        return serialization.parse(await compression.request.decompress(frame.bytes, opt.readMaxBytes));
      });
    }
    input
      .then((message) => method.pipeline.unary(call.control, message as never))
      .then((output) => {
        call.control.done();
        if (call.ended) return;
        // Encoded before the call counts as answered: a response over
        // writeMaxBytes must still be answered, with RESOURCE_EXHAUSTED.
        const body = method.serialization.getO(type.binary).serialize(output.message);
        call.finish({ ok: true, body, header: output.header(), trailer: output.trailer() });
      })
      .catch((error: unknown) => call.finish({ ok: false, error }));
    return true;
  }

  return {
    uninstall() {
      giveBackStreams?.();
      giveBack();
    },
  };
}

function methodTable(registrations: readonly ServiceRegistration[], opt: ResolvedGrpcLaneOptions): Map<string, LaneMethod> {
  const methods = new Map<string, LaneMethod>();
  for (const { service, implementation } of registrations) {
    const serviceSpec = createServiceImplSpec(service, implementation as never);
    for (const spec of Object.values(serviceSpec.methods)) {
      if (spec.kind !== "unary") continue;
      methods.set(`/${service.typeName}/${spec.method.name}`, {
        pipeline: createCallPipeline(spec, opt.interceptors),
        // Connect's own serializers, with the same limits and the JSON rules
        // Connect's handler is given (connect-routes.ts): the same bytes and errors.
        serialization: withFrozenOutputCache(createMethodSerializationLookup(spec.method, undefined, proto3JsonOptions(spec.method.input), opt)),
      });
    }
  }
  return methods;
}

/**
 * readEnvelopedBody reads a request body of one enveloped message. A body
 * that outgrows readMaxBytes is refused as soon as it does, naming the
 * message's declared size when its prefix says it, as Connect does; the
 * rest is read and dropped, so the client can finish sending.
 */
function readEnvelopedBody(stream: Readable, readMaxBytes: number, limits: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let body: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let received = 0;
    let failed = false;
    const guard = guardBody(stream, limits, (error) => {
      if (failed) return;
      failed = true;
      reject(error);
    });
    stream.on("data", (chunk: Buffer) => {
      if (failed || !guard.take(chunk.length)) return;
      received += chunk.length;
      if (received > readMaxBytes + FRAME_PREFIX_BYTES) {
        failed = true;
        const first = body ?? chunk;
        const declared = first.length >= FRAME_PREFIX_BYTES ? first.readUInt32BE(1) : undefined;
        const size = declared !== undefined && declared > readMaxBytes ? `${declared} ` : "";
        reject(new ConnectError(`message size ${size}is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      if (body === undefined) body = chunk;
      else (parts ??= [body]).push(chunk);
    });
    stream.once("end", () => {
      guard.release();
      if (!failed) resolve(parts !== undefined ? Buffer.concat(parts) : (body ?? Buffer.alloc(0)));
    });
    stream.once("error", (error) => {
      if (!failed) reject(ConnectError.from(error, Code.Canceled));
      failed = true;
    });
  });
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}
