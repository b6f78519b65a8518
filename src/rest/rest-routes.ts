import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type Interceptor } from "@connectrpc/connect";
import type { FastifyInstance, FastifyReply, FastifyRequest, preParsingHookHandler } from "fastify";
import { Readable } from "node:stream";
import { httpErrorResponse, HttpStatusError } from "../pipeline/http-errors.js";
import { createCallPipeline, type CallPipeline } from "../pipeline/call-pipeline.js";
import { callLoggerKey } from "../pipeline/call-observer.js";
import type { CallControl } from "../pipeline/call-context.js";
import { createRestCall, untilAborted, type RestCall } from "./rest-call-context.js";
import { HttpBindingError, type HttpBinding } from "./http-bindings.js";
import { compareTemplates, fastifyRoutePaths, matchPathTemplate, PathValueError, type PathMatch } from "./path-template.js";
import { responseJsonText } from "./json-text.js";
import { buildRequestMessage } from "./request-message.js";
import { NO_COMPRESSION, type AnswerCompression } from "./answer-compression.js";
import { unaryAnswer } from "./unary-answer.js";
import { createResumeFilter, parseLastEventId, SSE_RETRY_MS, sseEventId } from "./sse-resume.js";
import { pushedFromIterable } from "../pipeline/pushed-stream.js";
import { writePushedStream } from "../pipeline/pushed-stream-writer.js";
import type { StreamBudget } from "../pipeline/stream-budget.js";
import {
  encodeStreamError,
  encodeStreamMessage,
  STREAM_CONTENT_TYPES,
  streamFormatFor,
  type StreamFormat,
} from "./stream-response.js";

/** HTTP methods the transcoder routes; OPTIONS stays free for CORS preflight. */
const ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * RestRouteOptions tune how the routes call the implementations.
 */
export interface RestRouteOptions {
  /** Longest deadline a caller may ask for, in milliseconds. Default: no limit. */
  maxTimeoutMs?: number;
  /** The process's budget for bytes held by streams whose clients do not read. Default: none. */
  streamBudget?: StreamBudget;
  /**
   * Tells from a call's service and `authorization` header whether auth
   * refuses it; a route whose every service refuses the caller is not read
   * past its headers. Default: bodies are read, and the interceptors decide.
   */
  refuses?: (service: string, authorization: string | undefined) => boolean;
  /** How answers are compressed for callers that accept it. Default: not at all. */
  compression?: AnswerCompression;
}

/**
 * mountRestRoutes mounts the Fastify routes that carry the bindings. One
 * route per distinct find-my-way path takes every method; the transcoder
 * then matches the full templates, so that a path served for another method
 * is a 405 with Allow, and templates find-my-way cannot express still work.
 * Two bindings with the same method and template are an error.
 */
export function mountRestRoutes(
  app: FastifyInstance,
  bindings: readonly HttpBinding[],
  interceptors: readonly Interceptor[],
  options: RestRouteOptions = {},
): void {
  const byRoute = new Map<string, HttpBinding[]>();
  const taken = new Map<string, HttpBinding>();
  for (const binding of bindings) {
    const key = `${binding.httpMethod} ${binding.template.source}`;
    const other = taken.get(key);
    if (other !== undefined) {
      throw new HttpBindingError(`${key} is bound to both ${other.method.parent.typeName}.${other.method.name} and ${binding.method.parent.typeName}.${binding.method.name}`);
    }
    taken.set(key, binding);
    for (const path of fastifyRoutePaths(binding.template)) {
      const list = byRoute.get(path) ?? [];
      list.push(binding);
      byRoute.set(path, list);
    }
  }
  const limits = {
    maxTimeoutMs: options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER,
    streamBudget: options.streamBudget,
    compression: options.compression ?? NO_COMPRESSION,
  };
  // The chain is frozen, so each binding's pipeline is composed here, once.
  const pipelines: ReadonlyMap<HttpBinding, CallPipeline> = new Map(
    bindings.map((binding) => [binding, createCallPipeline(binding.spec, interceptors)]),
  );
  for (const [path, list] of byRoute) {
    const candidates = [...list].sort((a, b) => compareTemplates(a.template, b.template));
    app.route({
      // Custom methods of google.api.http rules join the usual ones; HEAD is
      // routed here too (as the GET it mirrors) rather than by Fastify's
      // own HEAD routes, so that it answers exactly what GET does.
      method: [...new Set([...ROUTED_METHODS, "HEAD", ...list.map((b) => b.httpMethod)])],
      url: path,
      exposeHeadRoute: false,
      // Answers are compressed here (unaryAnswer), as the REST lane
      // compresses them, not by @fastify/compress's hooks on every call.
      compress: false,
      // Resolving with the reply tells Fastify the response is under way even
      // while asynchronous onSend hooks (compression) still hold it.
      handler: (request, reply) => transcode(request, reply, candidates, pipelines, limits).then(() => reply),
      preParsing: refusedBeforeBody(candidates, options.refuses),
    });
  }
  const everyBinding = [...bindings].sort((a, b) => compareTemplates(a.template, b.template));
  // Answered before the body is read: a stream sent to a path nobody serves
  // (a gRPC client's reflection call, say) may never end its body, and
  // must not wait for it to hear 404.
  // A callback hook, not an async one: every request passes it.
  app.addHook("onRequest", (request, _reply, done) => {
    if (!request.is404) return done();
    const path = request.url.split("?", 1)[0]!;
    if (ENCODED_COLON.test(path)) return done();
    done(new HttpStatusError(`no route for ${request.method} ${truncated(path)}`, Code.NotFound, 404));
  });
  app.setNotFoundHandler((request, reply) => {
    // find-my-way does not decode "%3A", which clients (and some proxies)
    // write for the ":" of a custom verb: such a path is routed here.
    if (ENCODED_COLON.test(request.url.split("?", 1)[0]!)) {
      return transcode(request, reply, everyBinding, pipelines, limits).then(() => reply);
    }
    const path = request.url.split("?", 1)[0]!;
    throw new HttpStatusError(`no route for ${request.method} ${truncated(path)}`, Code.NotFound, 404);
  });
}

const ENCODED_COLON = /%3a/i;

// A caller auth refuses for every service of the route gets no body read,
// parsed or decoded: "{}" stands in for it, and the chain refuses the call
// with the usual status, challenge, metrics and log line.
function refusedBeforeBody(
  candidates: readonly HttpBinding[],
  refuses: RestRouteOptions["refuses"],
): preParsingHookHandler | undefined {
  if (refuses === undefined) return undefined;
  const services = [...new Set(candidates.map((binding) => binding.method.parent.typeName))];
  return (request, _reply, payload, done) => {
    const headers = request.headers;
    // A request without a body (GET) is not parsed: its stand-in is never read.
    if (!services.every((service) => refuses(service, headers.authorization))) {
      done(null, payload);
      return;
    }
    const standIn = Readable.from([Buffer.from("{}")]) as Readable & { receivedEncodedLength?: number };
    // Fastify holds a body to its content-length; the unread one is reset or drained once answered.
    if (headers["content-length"] !== undefined) standIn.receivedEncodedLength = Number(headers["content-length"]);
    done(null, standIn);
  };
}

/** Longest piece of a caller's input an error message quotes. */
const QUOTE_LIMIT = 128;

function truncated(text: string): string {
  return text.length <= QUOTE_LIMIT ? text : `${text.slice(0, QUOTE_LIMIT)}…`;
}

async function transcode(
  request: FastifyRequest,
  reply: FastifyReply,
  candidates: readonly HttpBinding[],
  pipelines: ReadonlyMap<HttpBinding, CallPipeline>,
  limits: { maxTimeoutMs: number; streamBudget: StreamBudget | undefined; compression: AnswerCompression },
): Promise<void> {
  const url = request.url;
  const queryStart = url.indexOf("?");
  const path = (queryStart === -1 ? url : url.slice(0, queryStart)).replace(/%3a/gi, ":");
  const query = new URLSearchParams(queryStart === -1 ? "" : url.slice(queryStart + 1));
  const { binding, pathValues } = route(request.method === "HEAD" ? "GET" : request.method, path, candidates);

  if (binding.body !== undefined) checkContentType(request);
  const input = buildRequestMessage(binding, pathValues, query, request.body as Buffer | undefined);

  const call = createRestCall({
    binding,
    requestMethod: request.method,
    url: `${request.protocol}://${request.host}${request.url}`,
    headers: request.headers,
    values: createContextValues().set(callLoggerKey, request.log),
    response: reply.raw,
    maxTimeoutMs: limits.maxTimeoutMs,
  });
  const pipeline = pipelines.get(binding)!;
  try {
    if (binding.spec.kind === "unary") await callUnary(binding, pipeline, call, input, reply, limits.compression);
    else await callServerStream(binding, pipeline, call.control, input, request, reply, limits.streamBudget);
  } catch (error) {
    call.finish({ error });
    const header = call.control.responseHeaderIfAny;
    if (header !== undefined) copyHeaders(header, reply);
    throw error;
  } finally {
    call.finish();
  }
}

function route(method: string, path: string, candidates: readonly HttpBinding[]): { binding: HttpBinding; pathValues: PathMatch } {
  const allowed = new Set<string>();
  for (const binding of candidates) {
    let pathValues: PathMatch | undefined;
    try {
      pathValues = matchPathTemplate(binding.template, path);
    } catch (error) {
      if (error instanceof PathValueError) throw new HttpStatusError(error.message, Code.InvalidArgument, 400);
      throw error;
    }
    if (pathValues === undefined) continue;
    if (binding.httpMethod === method) return { binding, pathValues };
    allowed.add(binding.httpMethod);
  }
  if (allowed.size > 0) {
    const allow = [...allowed].sort().join(", ");
    throw new HttpStatusError(`${method} is not allowed on ${truncated(path)}; use ${allow}`, Code.Unimplemented, 405, {
      allow: allowed.has("GET") ? `${allow}, HEAD` : allow,
    });
  }
  throw new HttpStatusError(`no REST route for ${method} ${truncated(path)}`, Code.NotFound, 404);
}

function checkContentType(request: FastifyRequest): void {
  const type = request.headers["content-type"];
  const body = request.body as Buffer | undefined;
  if (type === undefined || body === undefined || body.byteLength === 0) return;
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new HttpStatusError(`content-type must be application/json, got "${type}"`, Code.InvalidArgument, 415);
  }
}

async function callUnary(
  binding: HttpBinding,
  pipeline: CallPipeline,
  call: RestCall,
  input: Message,
  reply: FastifyReply,
  compression: AnswerCompression,
): Promise<void> {
  const control = call.control;
  const pending = pipeline.unary(control, input);
  // A call with a deadline answers at the deadline, whatever its handler does.
  const response = control.context.timeoutMs() === undefined ? await pending : await untilAborted(pending, control.signal);
  call.finish();
  const answer = await unaryAnswer(binding, response, reply.request.headers, compression);
  for (const [name, value] of answer.headers) reply.header(name, value);
  reply.code(answer.status).send(answer.body);
}

async function callServerStream(
  binding: HttpBinding,
  pipeline: CallPipeline,
  context: CallControl,
  input: Message,
  request: FastifyRequest,
  reply: FastifyReply,
  budget: StreamBudget | undefined,
): Promise<void> {
  const format = streamFormatFor(request.headers.accept);
  try {
    await writeServerStream(binding, pipeline, context, input, request, reply, budget, format);
  } catch (error) {
    if (format !== "sse" || !isUnavailable(error) || reply.raw.headersSent) throw error;
    // EventSource takes any HTTP error as final and stops for good, but
    // reconnects after a stream that ends: a call refused for now (a
    // gateway shutting down, its store out of reach) is such a stream,
    // with the error as its one event, so the browser tries again.
    startStream(reply, format, undefined);
    reply.raw.end(encodeStream(format, error));
  }
}

// The stream's status line and headers (Fastify's, the call's, the
// format's) and, for SSE, the reconnection delay.
function startStream(reply: FastifyReply, format: StreamFormat, callHeaders: Headers | undefined): void {
  const headers: Record<string, string | string[] | number> = {};
  for (const [key, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[key] = value;
  callHeaders?.forEach((value, key) => (headers[key] = value));
  headers["content-type"] = STREAM_CONTENT_TYPES[format];
  headers["cache-control"] = "no-cache";
  // Stop reverse proxies (nginx) from buffering the stream.
  headers["x-accel-buffering"] = "no";
  reply.hijack();
  reply.raw.writeHead(200, headers);
  if (format === "sse") reply.raw.write(`retry: ${SSE_RETRY_MS}\n\n`);
}

async function writeServerStream(
  binding: HttpBinding,
  pipeline: CallPipeline,
  context: CallControl,
  input: Message,
  request: FastifyRequest,
  reply: FastifyReply,
  budget: StreamBudget | undefined,
  format: StreamFormat,
): Promise<void> {
  const response = await untilAborted(pipeline.serverStream(context, input), context.signal);
  const raw = reply.raw;
  const chunks = streamChunks(binding, format);
  const position = format === "sse" ? parseLastEventId(request.headers["last-event-id"]) : undefined;
  const resume = position === undefined ? undefined : createResumeFilter(position);
  let started = false;
  // The status line waits for the first message, so that a call that fails
  // at once (unknown symbol, auth) gets its proper HTTP status.
  const writeHead = () => {
    started = true;
    startStream(reply, format, response.header());
    // HEAD learns the status and headers (after the call was admitted) and
    // ends there, once the first write, which Node discards, went by.
    if (request.method === "HEAD") queueMicrotask(() => raw.end());
  };
  await new Promise<void>((resolve, reject) => {
    writePushedStream(
      raw,
      pushedFromIterable(response.message),
      {
        encode: (message) => (resume === undefined || resume.done || resume.keep(message as Message) ? chunks.one(message as Message) : NOTHING),
        encodeBatch: (messages) => {
          // Only a resumed stream's first snapshots are looked at; the
          // shared bytes of a batch serve every later one.
          if (resume === undefined || resume.done) return chunks.batch(messages as readonly Message[]);
          const kept = (messages as readonly Message[]).filter((message) => resume.keep(message));
          return kept.length === messages.length ? chunks.batch(messages as readonly Message[]) : Buffer.concat(kept.map(chunks.one));
        },
        beforeFirstWrite: writeHead,
        end(error) {
          // A deadline ends the handler's stream quietly; tell the caller.
          if (error === undefined && context.signal.aborted && !clientGoneReason(context.signal)) error = context.signal.reason;
          if (!started) {
            if (error !== undefined) return reject(error);
            writeHead();
          } else if (error !== undefined && !raw.destroyed) {
            request.log.debug({ err: error }, "REST stream ended with an error");
            raw.write(encodeStream(format, error));
          }
          raw.end();
          resolve();
        },
      },
      context.signal,
      budget,
    );
  });
}

const NOTHING = new Uint8Array(0);

function isUnavailable(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unavailable;
}

// An update fanned out to many REST streams is one frozen message, and a
// batch handed to many streams alike one frozen array: each binding and
// format frames them once, and every stream writes those bytes.
interface StreamChunks {
  one(message: Message): Buffer;
  batch(messages: readonly Message[]): Buffer;
}

const chunkCaches = new Map<HttpBinding, Map<StreamFormat, StreamChunks>>();

function streamChunks(binding: HttpBinding, format: StreamFormat): StreamChunks {
  let byFormat = chunkCaches.get(binding);
  if (byFormat === undefined) chunkCaches.set(binding, (byFormat = new Map()));
  let chunks = byFormat.get(format);
  if (chunks === undefined) {
    const ones = new WeakMap<Message, Buffer>();
    const batches = new WeakMap<readonly Message[], Buffer>();
    // The SSE id derives from the message alone, so it is part of its shared bytes.
    const encode = (message: Message) =>
      Buffer.from(encodeStreamMessage(format, responseJsonText(binding, message), format === "sse" ? sseEventId(message) : undefined));
    const one = (message: Message) => {
      if (!Object.isFrozen(message)) return encode(message);
      let chunk = ones.get(message);
      if (chunk === undefined) ones.set(message, (chunk = encode(message)));
      return chunk;
    };
    chunks = {
      one,
      batch(messages) {
        if (!Object.isFrozen(messages)) return Buffer.concat(messages.map(one));
        let chunk = batches.get(messages);
        if (chunk === undefined) batches.set(messages, (chunk = Buffer.concat(messages.map(one))));
        return chunk;
      },
    };
    byFormat.set(format, chunks);
  }
  return chunks;
}

function encodeStream(format: StreamFormat, error: unknown): string {
  return encodeStreamError(format, httpErrorResponse(error));
}

function clientGoneReason(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return reason === undefined || (reason instanceof ConnectError && reason.code === Code.Canceled);
}

function copyHeaders(headers: Headers, reply: FastifyReply): void {
  headers.forEach((value, key) => reply.header(key, value));
}
