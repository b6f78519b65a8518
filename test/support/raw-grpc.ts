import type * as http2 from "node:http2";

/**
 * RawGrpcAnswer is everything a gRPC server sent back for one call.
 */
export interface RawGrpcAnswer {
  headers: http2.IncomingHttpHeaders;
  /** Trailers, or the headers of a trailers-only answer. */
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  status: string | undefined;
  message: string | undefined;
}

/**
 * rawGrpcCall sends one request body, framed or not, on an HTTP/2
 * session and collects the answer byte for byte: what a test needs to
 * compare two servers exactly or to send what no client library would.
 */
export function rawGrpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<RawGrpcAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (responseHeaders = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => {
      const final = trailers ?? responseHeaders;
      resolve({
        headers: responseHeaders,
        trailers: final,
        body: Buffer.concat(chunks),
        status: final["grpc-status"] as string | undefined,
        message: final["grpc-message"] as string | undefined,
      });
    });
    stream.end(body);
  });
}

/**
 * frame prefixes encoded message bytes for the gRPC wire.
 */
export function frame(bytes: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
