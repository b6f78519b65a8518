import * as http2 from "node:http2";
import type * as net from "node:net";
import * as tls from "node:tls";

/** First byte of every TLS record that carries a handshake, ClientHello included. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * TlsSettings are the certificate and key the port serves HTTPS with.
 */
export interface TlsSettings {
  /** PEM certificate chain, leaf first. */
  cert: Buffer;
  /** PEM private key of the leaf certificate. */
  key: Buffer;
  /**
   * Whether the port also serves cleartext (h2c and HTTP/1.1) next to TLS,
   * for health checkers and sidecars on a trusted network. Default false.
   */
  allowCleartext?: boolean;
}

/**
 * startsTlsHandshake tells whether the first bytes of a connection are a TLS
 * record: no cleartext HTTP request begins with 0x16.
 */
export function startsTlsHandshake(firstBytes: Buffer): boolean {
  return firstBytes[0] === TLS_HANDSHAKE_RECORD;
}

/**
 * checkTlsSettings throws a readable error when the certificate or key
 * cannot be loaded or do not belong together, so a bad pair stops the
 * gateway at start-up rather than failing every handshake.
 */
export function checkTlsSettings(settings: Pick<TlsSettings, "cert" | "key">): void {
  tls.createSecureContext({ cert: settings.cert, key: settings.key });
}

/**
 * createTlsServer returns the HTTPS side of the one port: Node's HTTP/2
 * server over TLS that negotiates `h2` or `http/1.1` with ALPN (and falls
 * back to HTTP/1.1 for clients that offer no ALPN), so browsers, curl and
 * gRPC clients all reach the same handler.
 */
export function createTlsServer(
  settings: TlsSettings,
  http2Options: http2.ServerOptions,
  handshakeTimeoutMs: number,
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
): http2.Http2SecureServer {
  return http2.createSecureServer(
    { ...http2Options, cert: settings.cert, key: settings.key, allowHTTP1: true, handshakeTimeout: handshakeTimeoutMs },
    handler,
  );
}

/** The debug data of the GOAWAY that refuses h2c on a TLS-only port. */
export const TLS_REQUIRED_MESSAGE = "TLS required: this port serves HTTPS only (h2 over TLS), not cleartext HTTP/2";

/**
 * refuseCleartext answers a cleartext connection on a TLS-only port: an
 * HTTP/1.1 caller gets a 400 that says to use https; an h2c client gets the
 * server's SETTINGS and a GOAWAY (INADEQUATE_SECURITY) whose debug data says
 * TLS is required, which gRPC clients show their user; anything else is
 * closed.
 */
export function refuseCleartext(socket: net.Socket, firstBytes: Buffer, isHttp2Preface: boolean): void {
  if (isHttp2Preface) {
    socket.end(Buffer.concat([http2Frame(FRAME_SETTINGS, Buffer.alloc(0)), goawayFrame(INADEQUATE_SECURITY, TLS_REQUIRED_MESSAGE)]));
    return;
  }
  if (!/^[A-Z]+ /.test(firstBytes.toString("latin1", 0, 8))) {
    socket.destroy();
    return;
  }
  const body = "This port serves HTTPS only: use https://\n";
  socket.end(
    "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
/** RFC 9113 section 7: the peer's security is not acceptable (here: none). */
const INADEQUATE_SECURITY = 0xc;

// A frame on stream 0 with no flags: the only kind this file sends.
function http2Frame(type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  return Buffer.concat([header, payload]);
}

function goawayFrame(errorCode: number, debug: string): Buffer {
  const payload = Buffer.alloc(8);
  // Last stream id 0: no stream of the client's was processed.
  payload.writeUInt32BE(errorCode, 4);
  return http2Frame(FRAME_GOAWAY, Buffer.concat([payload, Buffer.from(debug, "utf8")]));
}
