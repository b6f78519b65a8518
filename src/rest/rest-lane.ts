import type { Message } from "@bufbuild/protobuf";
import type { ContextValues, Interceptor } from "@connectrpc/connect";
import type { FastifyBaseLogger } from "fastify";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { createCallPipeline, type CallPipeline } from "../pipeline/call-pipeline.js";
import type { ServiceRegistration } from "../pipeline/service-registry.js";
import { NO_COMPRESSION, type AnswerCompression } from "./answer-compression.js";
import { collectHttpBindings, type HttpBinding } from "./http-bindings.js";
import { compareTemplates, matchPathTemplate, type PathMatch } from "./path-template.js";
import { createRestCall, untilAborted, type RestCall } from "./rest-call-context.js";
import { buildRequestMessage } from "./request-message.js";
import { errorAnswer, unaryAnswer, type RestAnswer } from "./unary-answer.js";

/** A request as either HTTP server hands it over. */
type LaneRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** A response as either HTTP server hands it over. */
type LaneResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * RestLaneOptions are what the REST lane needs beyond the services.
 */
export interface RestLaneOptions {
  /** The gateway's one interceptor chain. */
  readonly interceptors: readonly Interceptor[];
  /** Longest deadline a caller may ask for, in milliseconds. Default: no limit. */
  readonly maxTimeoutMs?: number;
  /** How answers are compressed for callers that accept it. Default: not at all. */
  readonly compression?: AnswerCompression;
  /** The request id a call is logged under and answered with. Default: none. */
  readonly requestId?: (headers: http.IncomingHttpHeaders) => string;
  /** The context values a call starts with (its logger, say). Default: none. */
  readonly contextValues?: (headers: http.IncomingHttpHeaders, requestId: string | undefined) => ContextValues;
  /** Where a call that failed with a server error (5xx) is logged. Default: nowhere. */
  readonly logger?: FastifyBaseLogger;
}

/**
 * RestLane serves a request it takes and answers true; for any other it
 * answers false and touches nothing, so the request goes on to Fastify.
 */
export type RestLane = (request: LaneRequest, response: LaneResponse) => boolean;

/** find-my-way's longest path parameter: a longer one is no route there, so it is left to the routes. */
const MAX_SEGMENT_LENGTH = 100;

interface LaneBinding {
  readonly binding: HttpBinding;
  readonly pipeline: CallPipeline;
  /** The literal start of the template ("/v1/snapshots/"): a path without it cannot match. */
  readonly prefix: string;
}

// Read, never written: one empty query stands for every path without one.
const NO_QUERY = new URLSearchParams();

/**
 * createRestLane makes the lean REST lane: a plain GET of a unary method's
 * google.api.http rule (`GET /v1/snapshots/13`, the read every REST client
 * polls with) is answered ahead of Fastify's routing, hooks and reply,
 * through the same pipeline and the same answer (`unaryAnswer`,
 * `errorAnswer`) as the Fastify route gives. Anything else, or anything
 * unusual about a GET (HEAD, a body, percent-escapes in the path, a path
 * that two rules match, input the route would refuse), is left to the
 * route, which answers it as before.
 */
export function createRestLane(registrations: readonly ServiceRegistration[], options: RestLaneOptions): RestLane {
  const compression = options.compression ?? NO_COMPRESSION;
  // Every rule, whatever its method: a path that another rule matches too
  // is the routes' to sort out (405 with Allow, say).
  const bindings: LaneBinding[] = collectHttpBindings(registrations)
    .sort((a, b) => compareTemplates(a.template, b.template))
    .map((binding) => ({ binding, pipeline: createCallPipeline(binding.spec, options.interceptors), prefix: literalPrefix(binding) }));

  return (request, response) => {
    if (request.method !== "GET") return false;
    const headers = request.headers;
    // A GET with a body is odd enough for the routes.
    if (headers["transfer-encoding"] !== undefined || (headers["content-length"] !== undefined && headers["content-length"] !== "0")) return false;
    const url = request.url ?? "";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (path.includes("%") || (path.length > MAX_SEGMENT_LENGTH && path.split("/").some((s) => s.length > MAX_SEGMENT_LENGTH))) return false;
    const found = onlyMatch(bindings, path);
    if (found === undefined) return false;
    const { entry, pathValues } = found;
    const binding = entry.binding;
    if (binding.httpMethod !== "GET" || binding.spec.kind !== "unary") return false;
    let input: Message;
    try {
      input = buildRequestMessage(binding, pathValues, queryAt === -1 ? NO_QUERY : new URLSearchParams(url.slice(queryAt + 1)), undefined);
    } catch {
      return false;
    }
    const requestId = options.requestId?.(headers);
    const authority = "authority" in request ? request.authority : headers.host;
    const encrypted = "encrypted" in request.socket && request.socket.encrypted === true;
    let call: RestCall;
    try {
      call = createRestCall({
        binding,
        requestMethod: "GET",
        url: `${encrypted ? "https" : "http"}://${authority ?? ""}${url}`,
        headers,
        values: options.contextValues?.(headers, requestId),
        response,
        maxTimeoutMs: options.maxTimeoutMs,
      });
    } catch {
      // A malformed or too long timeout: the route refuses it in its words.
      return false;
    }
    const control = call.control;
    const pending = entry.pipeline.unary(control, input);
    // A call with a deadline answers at the deadline, as on the route.
    (control.context.timeoutMs() === undefined ? pending : untilAborted(pending, control.signal))
      .then((output) => {
        call.finish();
        if (response.destroyed) return;
        const answer = unaryAnswer(binding, output, headers, compression);
        if (!(answer instanceof Promise)) return writeAnswer(response, answer, requestId);
        return answer.then((compressed) => writeAnswer(response, compressed, requestId));
      })
      .catch((error: unknown) => {
        call.finish({ error });
        if (response.destroyed || response.headersSent) return;
        const answer = errorAnswer(error, control.responseHeaderIfAny);
        if (answer.status >= 500) options.logger?.child({ reqId: requestId }).error({ err: error }, "REST call failed");
        writeAnswer(response, answer, requestId);
      });
    return true;
  };
}

// The one rule whose template matches the path, or undefined when none or
// several do, or a path value is malformed (the routes answer those).
function onlyMatch(bindings: readonly LaneBinding[], path: string): { entry: LaneBinding; pathValues: PathMatch } | undefined {
  let found: { entry: LaneBinding; pathValues: PathMatch } | undefined;
  for (const entry of bindings) {
    if (!path.startsWith(entry.prefix)) continue;
    let pathValues: PathMatch | undefined;
    try {
      pathValues = matchPathTemplate(entry.binding.template, path);
    } catch {
      return undefined;
    }
    if (pathValues === undefined) continue;
    if (found !== undefined) return undefined;
    found = { entry, pathValues };
  }
  return found;
}

function literalPrefix(binding: HttpBinding): string {
  let prefix = "/";
  for (const segment of binding.template.segments) {
    if (segment.kind !== "literal") return prefix;
    prefix += `${segment.value}/`;
  }
  // A template of literals alone is matched whole (its verb included) by matchPathTemplate.
  return prefix.slice(0, -1);
}

// The headers go out in the order Fastify's reply sends them: the request
// id (its onRequest hook), the answer's, and the length last.
function writeAnswer(response: LaneResponse, answer: RestAnswer, requestId: string | undefined): void {
  const out: Record<string, string | string[]> = {};
  if (requestId !== undefined) out["x-request-id"] = requestId;
  for (const [name, value] of answer.headers) {
    const existing = out[name];
    // Set-Cookie comes one value at a time; any other name is replaced, as reply.header does.
    out[name] = name !== "set-cookie" || existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  const body = answer.body;
  if (body !== undefined) out["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength);
  (response as http.ServerResponse).writeHead(answer.status, out);
  (response as http.ServerResponse).end(body);
}
