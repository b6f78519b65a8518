import { guardBody, type BodyLimits } from "../grpc-lane/request-reader.js";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { base64Decode } from "@bufbuild/protobuf/wire";
import type { Readable } from "node:stream";

/**
 * readUnaryBody reads a unary POST's body, as Connect's handler does: a
 * declared length over readMaxBytes is refused before a byte is read, and
 * a body that outgrows it as soon as it does; a flagged body is then
 * decompressed within the same limit. Errors are Connect's own, word for word.
 */
export function readUnaryBody(
  request: Readable,
  contentLength: string | undefined,
  readMaxBytes: number,
  compression: Compression | null,
  limits: BodyLimits = {},
): Promise<Uint8Array> {
  const declared = contentLength === undefined ? Number.NaN : Number.parseInt(contentLength, 10);
  if (declared > readMaxBytes) {
    return Promise.reject(new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
  }
  return new Promise<Uint8Array>((resolve, reject) => {
    let body: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let received = 0;
    let failed = false;
    const guard = guardBody(request, limits, (error) => {
      if (failed) return;
      failed = true;
      reject(error);
    });
    request.on("data", (chunk: Buffer) => {
      if (failed || !guard.take(chunk.length)) return;
      received += chunk.length;
      if (received > readMaxBytes) {
        failed = true;
        reject(new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      // Most bodies arrive in one chunk: no copy then.
      if (body === undefined) body = chunk;
      else (parts ??= [body]).push(chunk);
    });
    request.once("end", () => {
      guard.release();
      if (failed) return;
      resolve(parts !== undefined ? Buffer.concat(parts) : (body ?? new Uint8Array(0)));
    });
    request.once("error", (error) => {
      if (!failed) reject(ConnectError.from(error, Code.Canceled));
      failed = true;
    });
  }).then((bytes) => (compression === null ? bytes : compression.decompress(bytes, readMaxBytes)));
}

/**
 * readUnaryQuery reads the message of a unary GET from its query
 * parameters (`message`, `base64`, `compression`), as Connect's handler does.
 */
export async function readUnaryQuery(query: URLSearchParams, readMaxBytes: number, compression: Compression | null): Promise<Uint8Array> {
  const message = query.get("message") ?? "";
  const decoded = query.get("base64") === "1" ? base64Decode(message) : new TextEncoder().encode(message);
  return compression === null ? decoded : compression.decompress(decoded, readMaxBytes);
}
