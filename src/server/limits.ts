import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type { Compression } from "@connectrpc/connect/protocol";
import type * as http2 from "node:http2";
import type * as http from "node:http";

/**
 * CompressionName is an encoding the gateway can compress with, on every
 * protocol.
 */
export type CompressionName = "gzip" | "br";

/**
 * LimitsConfig holds the server options of the migration guide, as
 * configured (see the README's configuration table).
 */
export interface LimitsConfig {
  /** Largest message read or written, in bytes; RESOURCE_EXHAUSTED past it. */
  maxMessageBytes: number;
  /** HTTP/2 streams a client may open at once on one connection. */
  maxConcurrentStreams: number;
  /** Milliseconds between keepalive pings on an HTTP/2 connection; 0 sends none. */
  keepaliveIntervalMs: number;
  /** Milliseconds a ping may go unanswered before the connection is closed. */
  keepaliveTimeoutMs: number;
  /** Longest deadline a client may ask for, in milliseconds; 0 accepts any. */
  maxDeadlineMs: number;
  /** Encodings accepted and offered, in order of preference; empty turns compression off. */
  compression: CompressionName[];
  /** Responses smaller than this many bytes are sent uncompressed. */
  compressMinBytes: number;
  /** Milliseconds an HTTP/1.1 request's headers may take to arrive, in all. */
  headersTimeoutMs: number;
  /**
   * Milliseconds the body of a one-message request (unary, server-streaming,
   * REST) may take to arrive, in all, after its headers; client and bidi
   * streams are not bounded.
   */
  bodyTimeoutMs: number;
  /** Request bytes held at once over every connection (see ByteBudget). */
  maxRequestBytesInFlight: number;
}

const CONNECT_COMPRESSION: Record<CompressionName, Compression> = { gzip: compressionGzip, br: compressionBrotli };

/**
 * CallLimitOptions are the per-call limits in the shape Connect's handlers
 * and the gRPC lane take.
 */
export interface CallLimitOptions {
  readMaxBytes: number;
  writeMaxBytes: number;
  maxTimeoutMs: number;
  acceptCompression: Compression[];
  compressMinBytes: number;
}

/**
 * callLimitOptions turns the configuration into the options every lane
 * applies per call: message size in both directions, the longest accepted
 * deadline, and the compression it accepts and answers with.
 */
export function callLimitOptions(limits: LimitsConfig): CallLimitOptions {
  return {
    readMaxBytes: limits.maxMessageBytes,
    writeMaxBytes: limits.maxMessageBytes,
    maxTimeoutMs: limits.maxDeadlineMs === 0 ? Number.MAX_SAFE_INTEGER : limits.maxDeadlineMs,
    acceptCompression: limits.compression.map((name) => CONNECT_COMPRESSION[name]),
    compressMinBytes: limits.compressMinBytes,
  };
}

/**
 * http1ServerOptions returns the HTTP/1.1 server's deadlines: the request's
 * headers within headersTimeoutMs and the whole request within that plus
 * bodyTimeoutMs, both counted from the first byte, however slowly it
 * trickles; Node checks them every second here rather than every 30.
 */
export function http1ServerOptions(limits: LimitsConfig): http.ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.headersTimeoutMs + limits.bodyTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
}

/**
 * http2ServerOptions returns the HTTP/2 settings both the cleartext and the
 * TLS server use.
 */
export function http2ServerOptions(limits: LimitsConfig): http2.ServerOptions {
  return {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
  };
}

/**
 * KeepaliveOptions configure the pings that find dead HTTP/2 connections.
 */
export interface KeepaliveOptions {
  /** Milliseconds between pings. Default 10000. */
  intervalMs?: number;
  /** Milliseconds a ping may go unanswered before the session is destroyed. Default 20000. */
  timeoutMs?: number;
}

/**
 * Keepalive pings every watched HTTP/2 session and destroys those whose
 * peer stopped answering (a crashed client, a silently dropped NAT entry),
 * so their streams and subscriptions are released.
 */
export interface Keepalive {
  watch(session: http2.Http2Session): void;
  /** Stops pinging; sessions are left as they are. */
  stop(): void;
}

/**
 * createKeepalive starts one timer for all sessions, rather than one per
 * connection.
 */
export function createKeepalive(options: KeepaliveOptions = {}): Keepalive {
  const intervalMs = options.intervalMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 20_000;
  // Per session: when the last ping went out, and whether it is unanswered.
  const sessions = new Map<http2.Http2Session, { sentAt: number; awaiting: boolean }>();
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [session, state] of sessions) {
        // A session is destroyed a tick before it says 'close'; pinging it then throws.
        if (session.destroyed || session.closed) {
          sessions.delete(session);
          continue;
        }
        if (state.awaiting) {
          if (now - state.sentAt >= timeoutMs) session.destroy(new Error("keepalive ping unanswered"));
          continue;
        }
        if (now - state.sentAt < intervalMs) continue;
        const sent = session.ping((error) => {
          if (error === null) state.awaiting = false;
        });
        if (sent) Object.assign(state, { sentAt: now, awaiting: true });
      }
    },
    Math.max(1, Math.min(intervalMs, timeoutMs) / 2),
  );
  timer.unref();
  return {
    watch(session) {
      sessions.set(session, { sentAt: Date.now(), awaiting: false });
      session.once("close", () => sessions.delete(session));
    },
    stop() {
      clearInterval(timer);
      sessions.clear();
    },
  };
}

/**
 * drainUnreadRequests keeps reading, and discarding, the rest of an HTTP/2
 * request whose response is complete while the client is still sending and
 * whose reader is gone (Connect's handler stops reading a request over
 * readMaxBytes). Unread, the client blocks on flow control, the response's
 * end never reaches the wire and the stream stays open for good, holding
 * one of the connection's concurrent streams and graceful shutdown.
 */
export function drainUnreadRequests(server: http2.Http2Server | http2.Http2SecureServer): void {
  server.on("request", (req: http2.Http2ServerRequest) => {
    // HTTP/1.1 requests on the TLS server have no stream; Node drains them.
    if (req.httpVersionMajor !== 2) return;
    const stream = req.stream;
    stream.once("finish", () => {
      if (stream.readableEnded || stream.destroyed) return;
      // The compatibility layer's reader pauses the stream again for the
      // request it feeds, which is gone: nobody reads the rest but us.
      stream.removeAllListeners("data");
      stream.resume();
    });
  });
}
