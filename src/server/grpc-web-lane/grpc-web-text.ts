import type * as http from "node:http";
import type { LaneRequest, LaneResponse } from "../request-takeover.js";

type RequestHandler = (request: LaneRequest, response: LaneResponse) => void;

const TEXT_TYPE = /^application\/grpc-web-text(?=$|[+;])/i;
const BINARY_TYPE = /^application\/grpc-web(?=$|[+;])/i;
const BASE64_GROUP = /^[A-Za-z0-9+/]{2}(?:==|[A-Za-z0-9+/]=|[A-Za-z0-9+/]{2})$/;
const FRAME_PREFIX_BYTES = 5;

/**
 * acceptGrpcWebText lets a handler that speaks binary gRPC-Web answer
 * `application/grpc-web-text` calls too, as the grpc-web JavaScript client
 * (mode=grpcwebtext) and Envoy's grpc_web filter send them: the request's
 * base64 body is decoded as it is read, so the handler applies its own
 * auth, limits and deadlines to the bytes it would have got in binary, and
 * its answer is sent back base64, each frame encoded on its own (padding
 * included), so every chunk a client receives decodes by itself.
 *
 * A body that is not base64 is answered 400 with grpc-status
 * INVALID_ARGUMENT, as Envoy answers it, in place of the handler's answer
 * to the truncated body it was given.
 */
export function acceptGrpcWebText(handler: RequestHandler): RequestHandler {
  return function (this: unknown, request, response) {
    const type = request.headers["content-type"];
    if (request.method !== "POST" || type === undefined || !TEXT_TYPE.test(type)) {
      handler.call(this, request, response);
      return;
    }
    const decoding = decodeRequestBody(request);
    request.headers["content-type"] = type.replace(/-text/i, "");
    // The decoded body is shorter than the one the client counted.
    delete request.headers["content-length"];
    encodeResponseBody(response, decoding);
    handler.call(this, request, response);
  };
}

interface Decoding {
  /** Why the body could not be decoded, once it could not. */
  error: string | undefined;
}

/**
 * decodeRequestBody decodes the request's body in place: every chunk the
 * server pushes into the request is replaced by the bytes it encodes. A
 * padded group may end any chunk's worth of text, as grpc-web allows;
 * anything else ends the body where the bad text starts.
 */
function decodeRequestBody(request: LaneRequest): Decoding {
  const decoding: Decoding = { error: undefined };
  const push = request.push.bind(request);
  let pending = "";
  request.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk === null) {
      if (pending.length > 0 && decoding.error === undefined) decoding.error = "grpc-web-text body is not whole base64: its length is not a multiple of 4";
      return push(null);
    }
    if (decoding.error !== undefined) return true;
    const text = pending + (typeof chunk === "string" ? Buffer.from(chunk, encoding).toString("latin1") : Buffer.from(chunk as Uint8Array).toString("latin1"));
    const whole = text.length - (text.length % 4);
    pending = text.slice(whole);
    const bytes = decodeGroups(text.slice(0, whole));
    if (typeof bytes === "string") {
      decoding.error = bytes;
      return true;
    }
    return bytes.length === 0 ? true : push(bytes);
  };
  return decoding;
}

/** decodeGroups decodes whole 4-character groups, or says why it cannot. */
function decodeGroups(text: string): Buffer | string {
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = 0; at < text.length; at += 4) {
    const group = text.slice(at, at + 4);
    if (!BASE64_GROUP.test(group)) return `grpc-web-text body is not base64: ${JSON.stringify(group.slice(0, 16))} at offset ${at}`;
    // Node stops at the first padding: decode each padded run by itself.
    if (group.endsWith("=")) {
      parts.push(Buffer.from(text.slice(start, at + 4), "base64"));
      start = at + 4;
    }
  }
  if (start < text.length) parts.push(Buffer.from(text.slice(start), "base64"));
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

type WriteCallback = (error?: Error | null) => void;

/**
 * encodeResponseBody makes a gRPC-Web answer go out as grpc-web-text: its
 * content type, and its body base64, a whole frame at a time. Answers of
 * any other type (a 404, a CORS refusal) go out as they are.
 */
function encodeResponseBody(response: LaneResponse, decoding: Decoding): void {
  const res = response as http.ServerResponse;
  const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => http.ServerResponse;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
  let mode: "undecided" | "text" | "as-is" | "refused" = "undecided";
  let pending: Buffer = Buffer.alloc(0);

  // Decides from the answer's content type, once its headers are known.
  const decide = (headers: Record<string, unknown> | undefined) => {
    if (mode !== "undecided") return;
    if (decoding.error !== undefined) {
      mode = "refused";
      writeHead(400, {
        "content-type": "application/grpc-web-text+proto",
        "grpc-status": "3",
        "grpc-message": encodeURIComponent(decoding.error),
      });
      return;
    }
    const key = headers === undefined ? undefined : Object.keys(headers).find((name) => name.toLowerCase() === "content-type");
    const type = key === undefined ? res.getHeader("content-type") : headers?.[key];
    if (typeof type !== "string" || !BINARY_TYPE.test(type)) {
      mode = "as-is";
      return;
    }
    mode = "text";
    const textType = type.replace(/^application\/grpc-web/i, "application/grpc-web-text");
    if (key !== undefined && headers !== undefined) headers[key] = textType;
    else res.setHeader("content-type", textType);
    if (headers !== undefined) for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-length") delete headers[name];
    res.removeHeader("content-length");
  };
  // Base64 of every whole frame taken from the bytes written so far.
  const encode = (chunk: unknown, encoding: unknown, last: boolean): string => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== "function") {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, (encoding as BufferEncoding) ?? "utf8") : Buffer.from(chunk as Uint8Array);
      pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    }
    let out = "";
    let at = 0;
    while (pending.length - at >= FRAME_PREFIX_BYTES) {
      const size = FRAME_PREFIX_BYTES + pending.readUInt32BE(at + 1);
      if (pending.length - at < size) break;
      out += pending.subarray(at, at + size).toString("base64");
      at += size;
    }
    pending = pending.subarray(at);
    if (last && pending.length > 0) {
      out += pending.toString("base64");
      pending = Buffer.alloc(0);
    }
    return out;
  };
  const callbackOf = (args: unknown[]) => args.find((arg) => typeof arg === "function") as WriteCallback | undefined;

  res.writeHead = ((status: number, ...rest: unknown[]) => {
    const headers = rest.find((arg) => typeof arg === "object" && arg !== null && !Array.isArray(arg)) as Record<string, unknown> | undefined;
    decide(headers);
    if (mode === "refused") return res;
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    decide(undefined);
    if (mode === "as-is") return write(chunk, ...rest);
    const callback = callbackOf(rest);
    const text = mode === "text" ? encode(chunk, rest[0], false) : "";
    if (text.length === 0) {
      if (callback !== undefined) process.nextTick(callback);
      return true;
    }
    return callback === undefined ? write(text, "latin1") : write(text, "latin1", callback);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    decide(undefined);
    if (mode === "as-is") return end(chunk, ...rest);
    const callback = callbackOf([chunk, ...rest]);
    const text = mode === "text" ? encode(chunk, rest[0], true) : "";
    return text.length === 0 ? end(callback) : end(text, "latin1", callback);
  }) as typeof res.end;
}
