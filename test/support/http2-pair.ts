import * as http2 from "node:http2";
import type { RawGrpcAnswer } from "./raw-grpc.js";

/**
 * StreamPair is one HTTP/2 request as both ends see it: the server's
 * stream, which the test answers by hand, and the answer the client got.
 */
export interface StreamPair {
  server: http2.ServerHttp2Stream;
  client: http2.ClientHttp2Stream;
  /** Settles when the client's stream closes, with all it received. */
  answer: Promise<RawGrpcAnswer>;
}

/**
 * Http2Pair is a real HTTP/2 server and client on a loopback socket, for
 * unit tests of code that writes to a server stream.
 */
export interface Http2Pair {
  /** open sends a gRPC request (its body, unless `body` is null, then ends) and hands over both ends. */
  open(body?: Buffer | null, headers?: http2.OutgoingHttpHeaders): Promise<StreamPair>;
  close(): Promise<void>;
}

/**
 * startHttp2Pair listens on a free loopback port and connects to it.
 */
export async function startHttp2Pair(): Promise<Http2Pair> {
  const waiting: ((stream: http2.ServerHttp2Stream) => void)[] = [];
  const server = http2.createServer();
  server.on("stream", (stream) => waiting.shift()?.(stream));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const session = http2.connect(`http://127.0.0.1:${address.port}`);
  return {
    async open(body = Buffer.alloc(0), headers = {}) {
      const serverStream = new Promise<http2.ServerHttp2Stream>((resolve) => waiting.push(resolve));
      const client = session.request({ ":method": "POST", ":path": "/test.v1.Test/Call", "content-type": "application/grpc", te: "trailers", ...headers });
      const answer = collect(client);
      if (body !== null) client.end(body);
      return { server: await serverStream, client, answer };
    },
    async close() {
      session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function collect(stream: http2.ClientHttp2Stream): Promise<RawGrpcAnswer> {
  return new Promise((resolve) => {
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    // A reset is part of what a test may look at; the close says it all.
    stream.on("error", () => {});
    stream.on("close", () => {
      const final = trailers ?? headers;
      resolve({
        headers,
        trailers: final,
        body: Buffer.concat(chunks),
        status: final["grpc-status"] as string | undefined,
        message: final["grpc-message"] as string | undefined,
      });
    });
  });
}
