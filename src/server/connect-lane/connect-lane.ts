import { createServiceImplSpec } from "@connectrpc/connect";
import {
  compressionNegotiate,
  createMethodSerializationLookup,
  type Compression,
  type MethodSerializationLookup,
} from "@connectrpc/connect/protocol";
import { contentTypeUnaryJson, contentTypeUnaryProto, parseContentType, parseTimeout } from "@connectrpc/connect/protocol-connect";
import { create, type DescMessage } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Readable } from "node:stream";
import { createCallPipeline, type CallPipeline } from "../../pipeline/call-pipeline.js";
import { deadlineHasPassed } from "../../pipeline/deadline-gate.js";
import { withFrozenOutputCache } from "../../pipeline/frozen-output-serialization.js";
import { proto3JsonOptions } from "../../pipeline/proto3-json.js";
import type { ServiceRegistration } from "../../pipeline/service-registry.js";
import { validateGrpcLaneOptions, type GrpcLaneOptions, type ResolvedGrpcLaneOptions } from "../grpc-lane/grpc-lane-options.js";
import { UnaryCall, type UnaryCallStatus } from "./unary-call.js";
import { readUnaryBody, readUnaryQuery } from "./unary-request.js";
import { errorAnswer, writeUnaryAnswer, type LaneResponse } from "./unary-response.js";
import { takeOverRequests } from "../request-takeover.js";
import { isHttp2Server, takeOverStreams } from "../grpc-lane/stream-takeover.js";
import { StreamResponse } from "./stream-response.js";

/**
 * ConnectLaneOptions configure the Connect lane: the same limits, chain and
 * request ids as the gRPC lane, from the same place.
 */
export type ConnectLaneOptions = GrpcLaneOptions;

type LaneRequest = http.IncomingMessage | http2.Http2ServerRequest;

interface LaneMethod {
  readonly pipeline: CallPipeline;
  readonly serialization: MethodSerializationLookup<DescMessage, DescMessage>;
  /** Read-only methods answer GET as well as POST. */
  readonly get: boolean;
}

/**
 * ConnectLane is installed on an HTTP server; uninstall gives every
 * request back to the server's own request handling.
 */
export interface ConnectLane {
  uninstall(): void;
}

/**
 * installConnectLane puts a lean Connect lane in front of a server's
 * request handling, HTTP/1.1 or HTTP/2 alike: unary Connect calls of the
 * registered services (POST with a JSON or protobuf body, GET with the
 * message in the query, gzip or br either way) run through the shared
 * call pipeline and are answered straight on the response. Everything
 * else (streams, unknown content types, encodings Connect would refuse,
 * other routes) goes on to the server's handler (Fastify, with
 * connect-fastify), which stays the reference.
 *
 * Connect's universal handler adapts every request to async iterables,
 * builds its headers twice, and aborts two AbortControllers per call
 * (each abort without a reason builds a DOMException, with a stack); the
 * lane does the call's own work only.
 */
export function installConnectLane(
  server: http.Server | http2.Http2Server | http2.Http2SecureServer,
  registrations: readonly ServiceRegistration[],
  options: ConnectLaneOptions = {},
): ConnectLane {
  const opt = validateGrpcLaneOptions(options);
  const methods = methodTable(registrations, opt);
  const giveBack = takeOverRequests(server, serve);

  const giveBackStreams = isHttp2Server(server) ? takeOverStreams(server, serveStream) : undefined;

  // Serves a request that is a unary Connect call the lane knows; false otherwise.
  function serve(request: LaneRequest, response: LaneResponse): boolean {
    // An HTTP/2 request was looked at as a stream already, and passed on.
    if (giveBackStreams !== undefined && request.httpVersionMajor === 2) return false;
    const authority = "authority" in request ? request.authority : request.headers.host;
    return serveCall(request.url ?? "", request.method, request.headers, authority, isEncrypted(request), request, response);
  }

  // The same for a raw HTTP/2 stream, answered on the stream itself. The
  // gRPC lane's calls pass here first: they are told apart at once.
  function serveStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
    if (headers["content-type"]?.startsWith("application/grpc") === true) return false;
    const encrypted = "encrypted" in stream.session!.socket && stream.session!.socket.encrypted === true;
    return serveCall(headers[":path"] ?? "", headers[":method"], headers, headers[":authority"], encrypted, stream, new StreamResponse(stream));
  }

  function serveCall(
    target: string,
    requestMethod: string | undefined,
    headers: http.IncomingHttpHeaders,
    authority: string | undefined,
    encrypted: boolean,
    body: Readable,
    response: LaneResponse,
  ): boolean {
    const queryAt = target.indexOf("?");
    const found = methods.get(queryAt < 0 ? target : target.slice(0, queryAt));
    if (found === undefined) return false;
    const method: LaneMethod = found;
    let binary: boolean;
    let requested: string | null;
    let query: URLSearchParams | undefined;
    if (requestMethod === "POST") {
      const type = parseContentType(headers["content-type"] ?? null);
      if (type === undefined || type.stream) return false;
      binary = type.binary;
      requested = headerValue(headers["content-encoding"]);
    } else if (requestMethod === "GET" && method.get) {
      query = new URLSearchParams(queryAt < 0 ? "" : target.slice(queryAt + 1));
      const encoding = query.get("encoding");
      if (encoding !== "json" && encoding !== "proto") return false;
      binary = encoding === "proto";
      requested = query.get("compression");
    } else {
      return false;
    }
    const compression = compressionNegotiate(opt.acceptCompression as Compression[], requested, headerValue(headers["accept-encoding"]), "accept-encoding");
    // Connect answers an encoding it does not know in its own words.
    if (compression.error !== undefined) return false;

    const spec = method.pipeline.spec;
    const requestId = opt.requestId?.(headers);
    const timeout = parseTimeout(headerValue(headers["connect-timeout-ms"]), opt.maxTimeoutMs);
    const contentType = binary ? contentTypeUnaryProto : contentTypeUnaryJson;
    const call = new UnaryCall(
      response,
      (res, status: UnaryCallStatus, control) =>
        writeUnaryAnswer(
          res,
          status.ok
            ? { status: 200, contentType, body: status.body, header: status.header, trailer: status.trailer }
            : errorAnswer(status.error, control.responseHeaderIfAny, control.trailerIfAny),
          compression.response,
          opt.compressMinBytes,
          requestId,
        ),
      {
        service: spec.method.parent,
        method: spec.method,
        protocol: "connect",
        requestMethod,
        url: `${encrypted ? "https" : "http"}://${authority ?? ""}${target}`,
        rawHeaders: headers,
        values: opt.contextValues?.(headers, requestId),
        timeoutMs: timeout.error ? undefined : timeout.timeoutMs,
      },
    );
    if (timeout.error !== undefined) {
      call.finish({ ok: false, error: timeout.error });
      // The body is not wanted; Node drops what the client still sends.
      body.resume();
      return true;
    }
    if (query === undefined && refusedFromHeaders(spec.method.parent.typeName, headers, call.control.context.timeoutMs())) {
      // Auth or a passed deadline refuses this call whatever its body holds,
      // as Connect's side refuses it: through the chain as usual (counted,
      // logged), with an empty message standing in for a body never read.
      body.resume();
      run(Promise.resolve(create(spec.method.input)));
      return true;
    }
    const bytes =
      query !== undefined
        ? readUnaryQuery(query, opt.readMaxBytes, compression.request)
        : readUnaryBody(body, headerValue(headers["content-length"]) ?? undefined, opt.readMaxBytes, compression.request, opt);
    run(bytes.then((input) => method.serialization.getI(binary).parse(input)));
    return true;

    function run(input: Promise<unknown>): void {
      input
        .then((message) => method.pipeline.unary(call.control, message as never))
        .then((output) => {
          call.control.done();
          if (call.ended) return;
          // Encoded before the call counts as answered: a response over
          // writeMaxBytes must still be answered, with RESOURCE_EXHAUSTED.
          const body = method.serialization.getO(binary).serialize(output.message);
          call.finish({ ok: true, body, header: output.header(), trailer: output.trailer() });
        })
        .catch((error: unknown) => call.finish({ ok: false, error }));
    }
  }

  function refusedFromHeaders(service: string, headers: http.IncomingHttpHeaders, timeoutMs: number | undefined): boolean {
    if (deadlineHasPassed(timeoutMs)) return true;
    return opt.refuses?.(service, headers.authorization) ?? false;
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
        // Connect's own serializers, with the same limits: the same bytes and the same errors.
        serialization: withFrozenOutputCache(createMethodSerializationLookup(spec.method, undefined, proto3JsonOptions(spec.method.input), opt)),
        get: spec.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
      });
    }
  }
  return methods;
}

function isEncrypted(request: LaneRequest): boolean {
  return "encrypted" in request.socket && request.socket.encrypted === true;
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}
