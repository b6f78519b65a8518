import { once } from "node:events";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";

/**
 * BareHttp2Server is a plain node:http2 server whose own request handling
 * answers 404 and counts the compatibility requests it made, with a
 * client session to it: what a lane takes never reaches that count.
 */
export interface BareHttp2Server {
  readonly server: http2.Http2Server;
  readonly session: http2.ClientHttp2Session;
  /** Requests that reached the server's own 'request' handling. */
  compatRequests(): number;
  /** POSTs a body to a path; resolves with the answer's headers and bytes. */
  post(path: string, contentType: string, body: Uint8Array | string): Promise<{ headers: http2.IncomingHttpHeaders; body: Buffer }>;
  close(): void;
}

/**
 * startBareHttp2Server starts the server on a loopback port; `install`
 * puts a lane in front of it before it listens.
 */
export async function startBareHttp2Server(install: (server: http2.Http2Server) => void): Promise<BareHttp2Server> {
  const server = http2.createServer();
  let compat = 0;
  server.on("request", (_request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    compat++;
    response.writeHead(404).end();
  });
  install(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  return {
    server,
    session,
    compatRequests: () => compat,
    post: (path, contentType, body) =>
      new Promise((resolve, reject) => {
        // gRPC-Web clients mark their calls, as browsers' grpc-web libraries do.
        const web = contentType.startsWith("application/grpc-web") ? { "x-grpc-web": "1" } : {};
        const stream = session.request({ ":method": "POST", ":path": path, "content-type": contentType, ...web });
        let headers: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on("response", (h) => (headers = h));
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
        stream.on("error", reject);
        stream.end(body);
      }),
    close() {
      session.close();
      server.close();
    },
  };
}
