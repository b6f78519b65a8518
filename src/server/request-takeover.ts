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
