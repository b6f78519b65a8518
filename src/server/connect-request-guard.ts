import { Code, ConnectError, createContextValues, type ContextValues } from "@connectrpc/connect";
import { compressedFlag } from "@connectrpc/connect/protocol";
import * as protoConnect from "@connectrpc/connect/protocol-connect";
import * as protoGrpc from "@connectrpc/connect/protocol-grpc";
import * as protoGrpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { callClientGoneKey, callLoggerKey } from "../pipeline/call-observer.js";
import type { ByteBudget } from "../pipeline/byte-budget.js";
import { deadlineHasPassed } from "../pipeline/deadline-gate.js";
import type { ServiceRegistration } from "../pipeline/service-registry.js";

/**
 * ConnectRequestGuardOptions say what the guard may refuse from a call's
 * headers alone.
 */
export interface ConnectRequestGuardOptions {
  /**
   * Tells from a call's service and `authorization` header whether auth
   * refuses it. Default: auth is left to the interceptors, after the body.
   */
  refuses?: (service: string, authorization: string | undefined) => boolean;
  /**
   * Milliseconds the body of a one-message request (unary or
   * server-streaming) may take to arrive, in all; past it the call ends
   * with DEADLINE_EXCEEDED. Client and bidi streams are not bounded.
   * Default: no bound.
   */
  bodyTimeoutMs?: number;
  /** The services served, to tell which routes take one message. Default: none bounded. */
  registrations?: readonly ServiceRegistration[];
  /** Budget the bodies of one-message requests are held in while they arrive, shared with the other lanes. Default: none. */
  budget?: ByteBudget;
}

/** How a request body is framed, as far as the guard cares. */
interface Framing {
  /** Length-prefixed messages, each with a flags byte allowing these bits; undefined for a unary Connect body. */
  readonly frameFlags: number | undefined;
  readonly json: boolean;
}

const EMPTY_JSON = Buffer.from("{}");
/** An empty JSON object in each Connect unary content-encoding, to stand in for a body never read. */
const UNARY_JSON_STAND_INS: Record<string, Buffer> = {
  gzip: gzipSync(EMPTY_JSON),
  br: brotliCompressSync(EMPTY_JSON),
};

/**
 * guardConnectRequests adds to a Fastify scope the hook that looks at each
 * call to Connect's handlers (Connect, gRPC-Web, gRPC on Connect's side)
 * before its body is read:
 *
 * - a call that auth refuses, or whose deadline passed before it started,
 *   has its body left unread: an empty message stands in for it, and the
 *   interceptor chain refuses the call as usual (same status, headers and
 *   body as ever, counted and logged), so a call without a token costs no
 *   reading, decompressing or decoding;
 * - every other enveloped body is read through a check of each frame's
 *   flags byte, so a flag bit the protocol does not define is refused with
 *   INTERNAL, as the gRPC lane refuses it, instead of read as uncompressed.
 *
 * Connect's handlers read `request.body` when it is set, and the raw
 * request otherwise; the hook sets it.
 */
export function guardConnectRequests(scope: FastifyInstance, options: ConnectRequestGuardOptions = {}): void {
  const refuses = options.refuses;
  const bodyTimeoutMs = options.bodyTimeoutMs;
  const budget = options.budget;
  const oneMessage = oneMessageRoutes(options.registrations ?? []);
  scope.addHook("preValidation", async (request) => {
    if (request.method !== "POST") return;
    const framing = framingOf(request.headers["content-type"]);
    if (framing === undefined) return;
    if (refusedFromHeaders(request, framing, refuses)) {
      const bytes = standIn(framing, request.headers["content-encoding"]);
      // Connect holds a unary body to its content-length; the stand-in's is its own.
      if (request.raw.headers["content-length"] !== undefined) request.raw.headers["content-length"] = String(bytes.length);
      request.body = once(bytes);
      return;
    }
    let body: AsyncIterable<Uint8Array> | undefined;
    if (framing.frameFlags !== undefined) body = checkFrameFlags(request.raw, framing.frameFlags);
    if (oneMessage.has(request.routeOptions.url ?? "")) {
      if (bodyTimeoutMs !== undefined) body = withinDeadline(body ?? request.raw, bodyTimeoutMs);
      if (budget !== undefined) body = heldIn(body ?? request.raw, budget);
    }
    if (body !== undefined) request.body = body;
  });
}

function oneMessageRoutes(registrations: readonly ServiceRegistration[]): Set<string> {
  const routes = new Set<string>();
  for (const { service } of registrations) {
    for (const method of service.methods) {
      if (method.methodKind === "unary" || method.methodKind === "server_streaming") routes.add(`/${service.typeName}/${method.name}`);
    }
  }
  return routes;
}

/**
 * heldIn passes a body's bytes on as they come, holding each in the budget
 * until the whole body has been handed on; past the budget the call ends
 * with RESOURCE_EXHAUSTED.
 */
async function* heldIn(body: AsyncIterable<Uint8Array>, budget: ByteBudget): AsyncGenerator<Uint8Array> {
  // By hand, not for-await: leaving a for-await early would destroy the
  // request stream, and with it the answer.
  const iterator = body[Symbol.asyncIterator]();
  let held = 0;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      budget.take(next.value.length);
      held += next.value.length;
      yield next.value;
    }
  } finally {
    budget.give(held);
  }
}

/**
 * withinDeadline passes a body's bytes on as they come, and fails with
 * DEADLINE_EXCEEDED once `timeoutMs` passed before the body ended: a
 * client trickling a byte now and then would otherwise hold the call, and
 * what it sent, for good. The unread rest is reset once the call answered.
 */
async function* withinDeadline(body: AsyncIterable<Uint8Array>, timeoutMs: number): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectError(`request body not received within ${timeoutMs} ms`, Code.DeadlineExceeded)), timeoutMs);
  });
  // Nobody may be waiting on it when it fires.
  expired.catch(() => {});
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), expired]);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * connectContextValues are the values a call to Connect's handlers starts
 * with: the request's logger, and whether its client went away, which
 * Connect tells the call only as an INTERNAL reset.
 */
export function connectContextValues(request: FastifyRequest): ContextValues {
  const raw = request.raw as FastifyRequest["raw"] & { aborted?: boolean };
  return createContextValues()
    .set(callLoggerKey, request.log)
    .set(callClientGoneKey, () => raw.aborted === true);
}

function refusedFromHeaders(
  request: FastifyRequest,
  framing: Framing,
  refuses: ConnectRequestGuardOptions["refuses"],
): boolean {
  const headers = request.headers;
  const timeout =
    framing.frameFlags === undefined || framing.frameFlags & protoConnect.endStreamFlag
      ? protoConnect.parseTimeout(headerValue(headers["connect-timeout-ms"]), Number.MAX_SAFE_INTEGER)
      : protoGrpc.parseTimeout(headerValue(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
  if (timeout.error === undefined && deadlineHasPassed(timeout.timeoutMs)) return true;
  if (refuses === undefined) return false;
  // Connect's routes are /package.Service/Method.
  const service = (request.routeOptions.url ?? "").split("/")[1] ?? "";
  return refuses(service, headers.authorization);
}

function framingOf(contentType: string | undefined): Framing | undefined {
  if (contentType === undefined) return undefined;
  const grpcWeb = protoGrpcWeb.parseContentType(contentType);
  // grpc-web-text bodies are base64, not frames.
  if (grpcWeb !== undefined) return grpcWeb.text ? undefined : { frameFlags: compressedFlag, json: !grpcWeb.binary };
  const grpc = protoGrpc.parseContentType(contentType);
  if (grpc !== undefined) return { frameFlags: compressedFlag, json: !grpc.binary };
  const connect = protoConnect.parseContentType(contentType);
  if (connect === undefined) return undefined;
  return { frameFlags: connect.stream ? compressedFlag | protoConnect.endStreamFlag : undefined, json: !connect.binary };
}

// One empty message, framed or not as the protocol frames it; a unary JSON
// body must still decompress, so it comes in the request's encoding.
function standIn(framing: Framing, contentEncoding: string | string[] | undefined): Buffer {
  const message = framing.json ? EMPTY_JSON : Buffer.alloc(0);
  if (framing.frameFlags === undefined) {
    const encoded = typeof contentEncoding === "string" ? (UNARY_JSON_STAND_INS[contentEncoding] ?? message) : message;
    return framing.json ? encoded : message;
  }
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * checkFrameFlags passes a body's bytes on as they come, and fails with
 * INTERNAL at the first frame whose flags byte has a bit outside `allowed`.
 */
async function* checkFrameFlags(body: AsyncIterable<Buffer>, allowed: number): AsyncGenerator<Uint8Array> {
  // Bytes of the current frame's message still to pass; 0 while reading a prefix.
  let remaining = 0;
  const prefix = Buffer.alloc(5);
  let prefixBytes = 0;
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.length) {
      if (remaining > 0) {
        const step = Math.min(remaining, chunk.length - at);
        remaining -= step;
        at += step;
        continue;
      }
      const step = Math.min(5 - prefixBytes, chunk.length - at);
      chunk.copy(prefix, prefixBytes, at, at + step);
      prefixBytes += step;
      at += step;
      if (prefixBytes < 5) continue;
      prefixBytes = 0;
      const flags = prefix[0]!;
      if ((flags & ~allowed) !== 0) {
        throw new ConnectError(`protocol error: invalid frame flags 0x${flags.toString(16).padStart(2, "0")}`, Code.Internal);
      }
      remaining = prefix.readUInt32BE(1);
    }
    yield chunk;
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(",") : value;
}
