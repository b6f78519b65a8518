import type * as http from "node:http";
import type * as http2 from "node:http2";

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
