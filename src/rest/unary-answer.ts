import type { Message } from "@bufbuild/protobuf";
import type { IncomingHttpHeaders } from "node:http";
import { httpErrorResponse } from "../pipeline/http-errors.js";
import type { PipelineResponse } from "../pipeline/call-pipeline.js";
import { answerEncoding, compressAnswer, type AnswerCompression } from "./answer-compression.js";
import { CACHE_CONTROL, entityTag, ifNoneMatchHits } from "./entity-tag.js";
import type { HttpBinding } from "./http-bindings.js";
import { responseJsonText } from "./json-text.js";

/** The content type of every REST answer and error. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * RestAnswer is what a REST call sends: a status, headers in the order
 * they go out (a name may come more than once: Set-Cookie), and a body.
 * The Fastify route and the REST lane both send it, so both answer alike.
 */
export interface RestAnswer {
  readonly status: number;
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** Undefined for a 304, which has none. */
  readonly body: string | Buffer | undefined;
}

/**
 * unaryAnswer is a unary call's REST answer: the metadata the call set
 * (trailers as `trailer-` headers, as grpc-gateway sends them), its
 * message as proto3 JSON, and for a GET its entity tag, which answers a
 * matching If-None-Match with 304 and no body. A body of compressMinBytes
 * or more is compressed for a caller that accepts it; only then is the
 * answer a promise, so that the usual one costs none.
 */
export function unaryAnswer(
  binding: HttpBinding,
  response: PipelineResponse<unknown>,
  requestHeaders: IncomingHttpHeaders,
  compression: AnswerCompression,
): RestAnswer | Promise<RestAnswer> {
  const headers: [string, string][] = [];
  response.header()?.forEach((value, key) => headers.push([key, value]));
  response.trailer()?.forEach((value, key) => headers.push([`trailer-${key}`, value]));
  const message = response.message as Message;
  const text = responseJsonText(binding, message);
  headers.push(["content-type", JSON_CONTENT_TYPE]);
  if (binding.httpMethod === "GET") {
    const tag = entityTag(message, text);
    headers.push(["etag", tag], ["cache-control", CACHE_CONTROL]);
    if (ifNoneMatchHits(requestHeaders["if-none-match"], tag)) return { status: 304, headers, body: undefined };
  }
  // Most answers are far below the threshold: their byte length is not counted.
  const encoding = text.length * 3 < compression.minBytes ? undefined : answerEncoding(requestHeaders, Buffer.byteLength(text), compression);
  if (encoding === undefined) return { status: 200, headers, body: text };
  const vary = headers.findIndex(([name]) => name === "vary");
  if (vary === -1) headers.push(["vary", "accept-encoding"]);
  else if (!headers[vary]![1].includes("accept-encoding")) headers[vary] = ["vary", `${headers[vary]![1]}, accept-encoding`];
  headers.push(["content-encoding", encoding]);
  return compressAnswer(encoding, text).then((body) => ({ status: 200, headers, body }));
}

/**
 * errorAnswer is the REST answer of a failed call: the metadata the call
 * set before it failed, then the error's, and the JSON error body.
 */
export function errorAnswer(error: unknown, callHeaders: Headers | undefined): RestAnswer & { readonly body: string } {
  const response = httpErrorResponse(error);
  const headers: [string, string][] = [];
  callHeaders?.forEach((value, key) => headers.push([key, value]));
  response.headers.forEach((value, key) => headers.push([key, value]));
  headers.push(["content-type", JSON_CONTENT_TYPE]);
  return { status: response.status, headers, body: JSON.stringify(response.body) };
}
