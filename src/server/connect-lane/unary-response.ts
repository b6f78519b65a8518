import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { mergeNonProtocolHeaders } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, contentTypeUnaryJson, errorToJsonBytes, trailerMux } from "@connectrpc/connect/protocol-connect";
import * as http from "node:http";
import type * as http2 from "node:http2";
import type { StreamResponse } from "./stream-response.js";

/** LaneResponse is a response of either HTTP version, as Node's compatibility API gives it, or a raw HTTP/2 stream's. */
export type LaneResponse = http.ServerResponse | http2.Http2ServerResponse | StreamResponse;

/**
 * UnaryAnswer is what a Connect unary call sends: a status, a body, and
 * the metadata the call set.
 */
export interface UnaryAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
  readonly header: Headers | undefined;
  readonly trailer: Headers | undefined;
}

/**
 * errorAnswer turns an error into Connect's unary error answer: the HTTP
 * status of its code, its JSON body, and its metadata among the headers.
 */
export function errorAnswer(error: unknown, header: Headers | undefined, trailer: Headers | undefined): UnaryAnswer {
  const connectError = error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  let merged = header;
  // Connect relays the metadata of an error it raised, not of one parsed from the wire.
  if (!connectError.isWireError) {
    merged = new Headers(header);
    mergeNonProtocolHeaders(merged, connectError.metadata);
  }
  return { status: codeToHttpStatus(connectError.code), contentType: contentTypeUnaryJson, body: errorToJsonBytes(connectError, {}), header: merged, trailer };
}

/**
 * writeUnaryAnswer sends an answer with the headers Connect's handler
 * sends, in its order: Connect sorts them (a Headers object iterates
 * sorted) and puts the content length last; Fastify's own headers (the
 * request id) come before all of them. Only an answer whose call set
 * metadata, or that is compressed, builds a Headers object.
 */
export async function writeUnaryAnswer(
  response: LaneResponse,
  answer: UnaryAnswer,
  compression: Compression | null,
  compressMinBytes: number,
  requestId: string | undefined,
): Promise<void> {
  let body = answer.body;
  const out: Record<string, string | string[]> = {};
  if (requestId !== undefined) out["x-request-id"] = requestId;
  const compress = compression !== null && body.byteLength >= compressMinBytes;
  if (answer.header === undefined && answer.trailer === undefined && !compress) {
    // content-length sorts before content-type.
    out["content-length"] = String(body.byteLength);
    out["content-type"] = answer.contentType;
  } else {
    // Connect's call starts with its content type; the call's own headers
    // go on top, and an error's answer is JSON whatever the call set.
    const header = new Headers({ "content-type": answer.contentType });
    answer.header?.forEach((value, key) => header.set(key, value));
    if (answer.status !== 200) header.set("content-type", answer.contentType);
    if (compress) {
      body = await compression.compress(body);
      header.set("content-encoding", compression.name);
    }
    const all = trailerMux(header, answer.trailer ?? new Headers());
    all.set("content-length", String(body.byteLength));
    all.forEach((value, key) => {
      const existing = out[key];
      // Set-Cookie comes one value at a time; Node takes several as a list.
      out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    });
  }
  (response as http.ServerResponse).writeHead(answer.status, out);
  endInOneWrite(response, body);
}

/** Largest body sent in the same write as the status line and headers. */
const ONE_WRITE_MAX_BYTES = 16 * 1024;

/**
 * endInOneWrite ends a response whose head is set with its body, in one
 * write to the socket where that is cheap. Node sends a text body in the
 * same write as the head, but bytes as a second buffer of a writev; a small
 * body goes as latin1 text, which is the same bytes on the wire. In a side
 * run (wrk -c 16, Connect binary GetSnapshot, four runs each way) the one
 * write served 8% more calls per second at 8% less CPU per call.
 */
export function endInOneWrite(response: LaneResponse, body: Uint8Array): void {
  // HTTP/2 frames the head and the body apart whatever is done here.
  if (!(response instanceof http.ServerResponse) || body.byteLength > ONE_WRITE_MAX_BYTES) {
    (response as http.ServerResponse).end(body);
    return;
  }
  response.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1"), "latin1");
}
