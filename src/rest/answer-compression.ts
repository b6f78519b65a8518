import { negotiate } from "@fastify/accept-negotiator";
import type { IncomingHttpHeaders } from "node:http";
import { promisify } from "node:util";
import * as zlib from "node:zlib";

/** The encodings a REST answer may be compressed with. */
export type AnswerEncoding = "gzip" | "br";

/**
 * AnswerCompression is how REST answers are compressed: the encodings
 * offered, in order of preference, and the smallest body worth it.
 */
export interface AnswerCompression {
  readonly encodings: readonly AnswerEncoding[];
  /** Bodies of fewer bytes go as they are. */
  readonly minBytes: number;
}

/** No compression at all. */
export const NO_COMPRESSION: AnswerCompression = { encodings: [], minBytes: Number.POSITIVE_INFINITY };

const gzip = promisify(zlib.gzip);
const brotliCompress = promisify(zlib.brotliCompress);
// Quality 4, as @fastify/compress sets it for the other plain HTTP routes:
// brotli's default of 11 costs many times the CPU for a few per cent.
const BROTLI_OPTIONS: zlib.BrotliOptions = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } };
// "*" (any encoding) and "x-gzip" name gzip, as @fastify/compress reads them.
const GZIP_ALIASES = /\*|x-gzip/g;

/**
 * answerEncoding picks the encoding of a REST answer of `bytes` bytes from
 * the request's Accept-Encoding, by the same negotiation as the gateway's
 * other plain HTTP routes (@fastify/compress): undefined for none.
 */
export function answerEncoding(headers: IncomingHttpHeaders, bytes: number, compression: AnswerCompression): AnswerEncoding | undefined {
  const accepted = headers["accept-encoding"];
  if (accepted === undefined || bytes < compression.minBytes || compression.encodings.length === 0) return undefined;
  // A caller (or a proxy in front of it) may ask for the body as it is.
  if (headers["x-no-compression"] !== undefined) return undefined;
  const chosen = negotiate(accepted.toLowerCase().replace(GZIP_ALIASES, "gzip"), compression.encodings as AnswerEncoding[]);
  return chosen === null ? undefined : (chosen as AnswerEncoding);
}

/** compressAnswer compresses a body off the event loop (zlib's thread pool). */
export function compressAnswer(encoding: AnswerEncoding, body: string): Promise<Buffer> {
  return encoding === "gzip" ? gzip(body) : brotliCompress(body, BROTLI_OPTIONS);
}
