import type { HttpErrorResponse } from "../pipeline/http-errors.js";

/**
 * StreamFormat is how a server-streaming call reaches a REST caller:
 * Server-Sent Events (`text/event-stream`, one event per message with its
 * `id:` and `data:`, usable from a browser EventSource) or newline-delimited JSON
 * (`application/x-ndjson`, one `{"result": ...}` line per message).
 */
export type StreamFormat = "sse" | "ndjson";

/** Content types of the stream formats. */
export const STREAM_CONTENT_TYPES: Readonly<Record<StreamFormat, string>> = {
  sse: "text/event-stream; charset=utf-8",
  ndjson: "application/x-ndjson; charset=utf-8",
};

/**
 * streamFormatFor picks the stream format from the Accept header: SSE when
 * the caller accepts text/event-stream, NDJSON otherwise.
 */
export function streamFormatFor(accept: string | undefined): StreamFormat {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept) ? "sse" : "ndjson";
}

/**
 * encodeStreamMessage frames one response message, given as JSON text, with
 * its SSE event id if it has one (NDJSON has no ids). Both formats put one
 * JSON document on one line, which JSON.stringify guarantees.
 */
export function encodeStreamMessage(format: StreamFormat, text: string, id?: string): string {
  if (format === "ndjson") return `{"result":${text}}\n`;
  return id === undefined ? `data: ${text}\n\n` : `id: ${id}\ndata: ${text}\n\n`;
}

/**
 * encodeStreamError frames the error that ends a stream after it started:
 * an `error` event for SSE, an `{"error": ...}` line for NDJSON, with the
 * same body a failed unary call gets.
 */
export function encodeStreamError(format: StreamFormat, error: HttpErrorResponse): string {
  const text = JSON.stringify(error.body);
  return format === "sse" ? `event: error\ndata: ${text}\n\n` : `{"error":${text}}\n`;
}
