import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { acceptGrpcWebText } from "./grpc-web-lane/grpc-web-text.js";
import { createHeaderBlockDeadline } from "./header-block-deadline.js";
import { createKeepalive, drainUnreadRequests, type KeepaliveOptions } from "./limits.js";
import { createTlsServer, refuseCleartext, startsTlsHandshake, type TlsSettings } from "./tls.js";

/** The first bytes an HTTP/2 client with prior knowledge sends. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * OnePortServerOptions configure the cleartext listener that serves HTTP/1.1
 * and HTTP/2 on one port.
 */
export interface OnePortServerOptions {
  /**
   * Milliseconds a new connection has, in all, to send the bytes that say
   * its protocol (the h2c preface, a TLS ClientHello, an HTTP/1.1 request
   * line) before it is closed, however slowly they trickle in. Default 10000.
   */
  firstByteTimeoutMs?: number;
  /**
   * Milliseconds an HTTP/2 request's header block (HEADERS and its
   * CONTINUATION frames) may take, in all, from its first frame, before
   * the connection is closed. Default: the HTTP/1.1 server's
   * headersTimeout, else 10000.
   */
  headersTimeoutMs?: number;
  /** Settings for the HTTP/2 server (max concurrent streams, window sizes, ...). */
  http2?: http2.ServerOptions;
  /** Settings for the HTTP/1.1 server. */
  http1?: http.ServerOptions;
  /**
   * HTTP/2 pings that find dead connections (and TCP keepalive for HTTP/1.1
   * at the same interval). Default: none.
   */
  keepalive?: KeepaliveOptions;
  /** Certificate and key to serve HTTPS (ALPN h2 and http/1.1) on the port. Default: cleartext only. */
  tls?: TlsSettings;
}

/** RequestHandler takes requests of both protocols, through Node's HTTP/2 compatibility API. */
export type RequestHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/**
 * OnePortServer is a TCP server that reads the first bytes of each
 * connection and hands it to an HTTP/2 server when they are the HTTP/2
 * connection preface, or to an HTTP/1.1 server otherwise.
 *
 * Node's http2 server takes HTTP/1.1 only with TLS (ALPN); this makes h2c
 * (what gRPC clients speak in cleartext) and HTTP/1.1 (what browsers and
 * curl speak) share a port. It offers what Fastify calls on close, so a
 * Fastify app built on it closes everything it opened.
 */
export interface OnePortServer extends net.Server {
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
  /** The HTTPS server, when TLS is configured. */
  readonly https: http2.Http2SecureServer | undefined;
  /** Closes HTTP/1.1 connections that have no request in flight. */
  closeIdleConnections(): void;
  /** Closes every HTTP/1.1 connection. */
  closeAllConnections(): void;
  /** Sends GOAWAY to every HTTP/2 session, letting streams in flight finish. */
  closeHttp2Sessions(): void;
}

/**
 * createOnePortServer builds the listener; `handler` receives every request
 * of both protocols (Fastify's request handler, typically).
 */
export function createOnePortServer(requestHandler: RequestHandler, options: OnePortServerOptions = {}): OnePortServer {
  // Ahead of every lane and of Fastify: grpc-web-text reaches them as binary gRPC-Web.
  const handler = acceptGrpcWebText(requestHandler) as RequestHandler;
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 10_000;
  const h1 = http.createServer(options.http1 ?? {}, handler as http.RequestListener);
  const h2 = http2.createServer(options.http2 ?? {}, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const secure =
    options.tls === undefined
      ? undefined
      : createTlsServer(options.tls, options.http2 ?? {}, firstByteTimeoutMs, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  const acceptsCleartext = secure === undefined || options.tls?.allowCleartext === true;
  const sessions = new Set<http2.Http2Session>();
  const keepalive = options.keepalive === undefined ? undefined : createKeepalive(options.keepalive);
  // One setting for both protocols: HEADERS_TIMEOUT_MS reaches here as the HTTP/1.1 server's.
  const headerBlocks = createHeaderBlockDeadline(options.headersTimeoutMs ?? options.http1?.headersTimeout ?? 10_000);
  const trackSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    // On the session, not the server: lanes that take streams ahead of the
    // server's request handling (the gRPC lane) get the same reset.
    session.on("stream", resetWhenAnswered);
    keepalive?.watch(session);
    headerBlocks.watch(session);
    session.once("close", () => sessions.delete(session));
  };
  h2.on("session", trackSession);
  secure?.on("session", trackSession);
  const resetWhenAnswered = (stream: http2.ServerHttp2Stream) => {
    // Like gRPC's own servers, reset a stream whose response is complete
    // while the client is still sending (RST_STREAM NO_ERROR): otherwise a
    // client that never half-closes keeps the stream, and a session told
    // to GOAWAY, open.
    stream.once("finish", () => {
      if (!stream.readableEnded) resetOnceSent(stream);
    });
  };
  drainUnreadRequests(h2);
  if (secure !== undefined) drainUnreadRequests(secure);

  const tcpKeepalive =
    options.keepalive === undefined ? {} : { keepAlive: true, keepAliveInitialDelay: options.keepalive.intervalMs ?? 10_000 };
  const server = net.createServer({ noDelay: true, ...tcpKeepalive }, (socket) => route(socket)) as OnePortServer;
  // Node's HTTP/1.1 server tracks its connections (for closeIdleConnections,
  // and for the headers and request timeouts that stop slowloris clients)
  // only once it has emitted "listening", which a server that never listens
  // itself must be told.
  server.on("listening", () => {
    h1.emit("listening");
    // The HTTPS server tracks its HTTP/1.1 connections the same way.
    secure?.emit("listening");
  });

  function route(socket: net.Socket): void {
    let received: Buffer = Buffer.alloc(0);
    // A deadline, not an idle timeout: a client sending a byte now and then
    // would otherwise hold its connection for good.
    const deadline = setTimeout(() => socket.destroy(), firstByteTimeoutMs);
    deadline.unref();
    const onError = () => {
      clearTimeout(deadline);
      socket.destroy();
    };
    socket.on("error", onError);
    socket.once("close", () => clearTimeout(deadline));
    const onData = (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, HTTP2_PREFACE.length);
      const isPrefacePrefix = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
      const isTls = secure !== undefined && startsTlsHandshake(received);
      // Wait for more bytes only while they could still be the preface.
      if (!isTls && isPrefacePrefix && received.length < HTTP2_PREFACE.length) return;
      socket.off("data", onData);
      socket.off("error", onError);
      clearTimeout(deadline);
      if (!isTls && !acceptsCleartext) {
        socket.on("error", onError);
        refuseCleartext(socket, received, isPrefacePrefix);
        return;
      }
      socket.pause();
      socket.unshift(received);
      (isTls ? secure! : isPrefacePrefix ? h2 : h1).emit("connection", socket);
      // The inner servers attach their own readers; resume so they get the
      // bytes put back above.
      process.nextTick(() => socket.resume());
    };
    socket.on("data", onData);
  }

  Object.defineProperties(server, {
    http1: { value: h1 },
    http2: { value: h2 },
    https: { value: secure },
  });
  // Node's HTTPS server tracks its HTTP/1.1 connections like http.Server
  // does, though its types do not say so.
  const https1 = secure as unknown as Pick<http.Server, "closeIdleConnections" | "closeAllConnections"> | undefined;
  server.closeIdleConnections = () => {
    h1.closeIdleConnections();
    https1?.closeIdleConnections();
  };
  server.closeAllConnections = () => {
    h1.closeAllConnections();
    https1?.closeAllConnections();
  };
  server.closeHttp2Sessions = () => {
    for (const session of sessions) session.close();
  };
  const closeListener = server.close.bind(server);
  server.close = (callback?: (error?: Error) => void) => {
    server.closeHttp2Sessions();
    h1.close();
    h2.close();
    secure?.close();
    keepalive?.stop();
    headerBlocks.stop();
    return closeListener(callback);
  };
  return server;
}

// The reset must follow the response's last frame (the gRPC status
// trailers) onto the wire: nghttp2 sends RST_STREAM ahead of frames still
// queued, and the client would lose the status.
function resetOnceSent(stream: http2.ServerHttp2Stream): void {
  if (stream.destroyed || stream.readableEnded) return;
  if (stream.state.localClose === 1) {
    stream.close(http2.constants.NGHTTP2_NO_ERROR);
    return;
  }
  setTimeout(() => resetOnceSent(stream), 5).unref();
}
