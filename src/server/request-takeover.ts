import type * as http from "node:http";
import type * as http2 from "node:http2";

/** LaneRequest is a request as either HTTP server hands it over. */
export type LaneRequest = http.IncomingMessage | http2.Http2ServerRequest;
/** LaneResponse is a response as either HTTP server hands it over. */
export type LaneResponse = http.ServerResponse | http2.Http2ServerResponse;

type RequestListener = (request: LaneRequest, response: LaneResponse) => void;

/**
 * takeOverRequests puts a lane in front of a server's request handling:
 * `serve` sees every request first and answers true for those it took;
 * the others go on to the server's own listeners (Fastify) as before. The
 * returned function gives every request back to them.
 */
export function takeOverRequests(
  server: http.Server | http2.Http2Server | http2.Http2SecureServer,
  serve: (request: LaneRequest, response: LaneResponse) => boolean,
): () => void {
  const passOn = server.listeners("request") as RequestListener[];
  server.removeAllListeners("request");
  const onRequest: RequestListener = function (this: unknown, request, response) {
    if (!serve(request, response)) for (const listener of passOn) listener.call(this, request, response);
  };
  server.on("request", onRequest as never);
  return () => {
    server.off("request", onRequest as never);
    for (const listener of passOn) server.on("request", listener as never);
  };
}

type StreamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/**
 * takeOverStreams puts `serve` in front of an HTTP/2 server's own stream
 * handling, which turns every stream into a compatibility request and
 * response for its 'request' listeners: `serve` sees each stream first,
 * with its headers, and returns true for one it takes. The returned
 * function gives every stream back.
 */
export function takeOverStreams(
  server: http2.Http2Server | http2.Http2SecureServer,
  serve: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean,
): () => void {
  const passOn = server.listeners("stream") as StreamListener[];
  server.removeAllListeners("stream");
  const onStream: StreamListener = function (this: unknown, stream, headers, flags, rawHeaders) {
    if (!serve(stream, headers)) for (const listener of passOn) listener.call(this, stream, headers, flags, rawHeaders);
  };
  server.on("stream", onStream);
  return () => {
    server.off("stream", onStream);
    for (const listener of passOn) server.on("stream", listener);
  };
}

/**
 * isHttp2Server tells an HTTP/2 server (cleartext or TLS) from an HTTP/1.1
 * one: it has a stream listener of its own from the start, the one that
 * makes compatibility requests; an HTTP/1.1 server never has one.
 */
export function isHttp2Server(server: http.Server | http2.Http2Server | http2.Http2SecureServer): server is http2.Http2Server | http2.Http2SecureServer {
  return server.listenerCount("stream") > 0;
}
