import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";

/**
 * HttpCase is one request, as bytes a test sends to two servers alike.
 */
export interface HttpCase {
  method?: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/** rawHttp1 sends request bytes on a new connection and returns every byte of the answer, until the server closes. */
export function rawHttp1(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks)));
    socket.on("error", reject);
    // No half-close: the one-port server ends a socket whose client ended, and
    // an answer that takes a turn (compression) would find it gone.
    socket.write(request);
  });
}

/** http1Request writes a request as bytes, with `connection: close` so the answer ends with the connection. */
export function http1Request(c: HttpCase, port: number): Buffer {
  const body = c.body ?? Buffer.alloc(0);
  const lines = [`${c.method ?? "POST"} ${c.path} HTTP/1.1`, `host: 127.0.0.1:${port}`, "connection: close"];
  for (const [key, value] of Object.entries(c.headers ?? {})) lines.push(`${key}: ${value}`);
  if ((c.method ?? "POST") === "POST") lines.push(`content-length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

/** comparable takes out of an HTTP/1.1 answer what may differ between two servers (the date, and a request id each numbers itself). */
export function comparable(answer: Buffer): { head: string; body: Buffer; requestId: string | undefined } {
  const end = answer.indexOf("\r\n\r\n");
  assert.ok(end > 0, `an HTTP answer: ${answer.toString("latin1").slice(0, 200)}`);
  let requestId: string | undefined;
  const head = answer
    .subarray(0, end)
    .toString("latin1")
    .split("\r\n")
    .map((line) => {
      if (/^date: /i.test(line)) return "date: (now)";
      const id = /^x-request-id: (.*)$/i.exec(line);
      if (id === null) return line;
      requestId = id[1];
      return "x-request-id: (id)";
    })
    .join("\r\n");
  return { head, body: answer.subarray(end + 4), requestId };
}

/** H2Answer is what an HTTP/2 server sent back for one request. */
export interface H2Answer {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** h2Call sends one request on an HTTP/2 session and collects its answer. */
export function h2Call(session: http2.ClientHttp2Session, c: HttpCase): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": c.method ?? "POST", ":path": c.path, ...c.headers });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => (headers = h));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => resolve({ headers, body: Buffer.concat(chunks) }));
    stream.end(c.body);
  });
}

/**
 * h2Comparable takes out of an HTTP/2 answer what may differ between two
 * servers (the date, the request id). The lean lanes send the id as a
 * header never indexed, which Connect's handler cannot: that is set aside
 * with its value; any other header sent never indexed is compared.
 */
export function h2Comparable(answer: H2Answer): { headers: Record<string | symbol, unknown>; body: Buffer; requestId: unknown } {
  const { date, "x-request-id": requestId, ...headers } = answer.headers;
  assert.ok(date !== undefined, "a date");
  return {
    headers: {
      ...headers,
      "x-request-id": requestId === undefined ? undefined : "(id)",
      [http2.sensitiveHeaders]: neverIndexedHeaders(answer.headers).filter((name) => name !== "x-request-id"),
    },
    body: answer.body,
    requestId,
  };
}


/** neverIndexedHeaders names the headers of an HTTP/2 head that HPACK sent as literals never to be indexed. */
export function neverIndexedHeaders(headers: http2.IncomingHttpHeaders): string[] {
  return ((headers as Record<symbol, unknown>)[http2.sensitiveHeaders] as string[] | undefined) ?? [];
}
