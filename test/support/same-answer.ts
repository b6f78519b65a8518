import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import type { RawGrpcAnswer } from "./raw-grpc.js";

/**
 * UNCOMPARED_HEADERS are left out when two answers are compared by value:
 * `date` because the clock moves between them, and `x-request-id` because
 * each server numbers the calls that bring no id of their own. Both must
 * send a date, and either both or neither an id.
 */
export const UNCOMPARED_HEADERS: readonly string[] = ["date", "x-request-id"];

/**
 * assertSameAnswer checks that two gRPC answers carry the same bytes, the
 * same status and the same metadata: every header and every trailer. A
 * trailers-only answer (the status in the one HEADERS frame, as grpc-js
 * and the lean lane send an error) and headers followed by trailers (as
 * Connect's handler always sends) are the same answer to a gRPC client, so
 * when either is trailers-only, the two frames are compared merged.
 */
export function assertSameAnswer(ours: RawGrpcAnswer, theirs: RawGrpcAnswer): void {
  assert.ok(theirs.status !== undefined, "the reference sent a status");
  assert.equal(ours.status, theirs.status, `status: ${ours.message} vs ${theirs.message}`);
  assert.equal(ours.message, theirs.message);
  assert.deepEqual(ours.body, theirs.body, "body");
  assert.ok(ours.headers.date !== undefined && theirs.headers.date !== undefined, "both send a date");
  assert.equal(requestIdOf(ours) !== undefined, requestIdOf(theirs) !== undefined, "both or neither echo a request id");
  if (isTrailersOnly(ours) || isTrailersOnly(theirs)) {
    assert.deepEqual(metadata(ours.headers, ours.trailers), metadata(theirs.headers, theirs.trailers), "headers and trailers");
  } else {
    assert.deepEqual(metadata(ours.headers), metadata(theirs.headers), "headers");
    assert.deepEqual(metadata(ours.trailers), metadata(theirs.trailers), "trailers");
  }
}

/** isTrailersOnly tells an answer whose only HEADERS frame carried the status. */
export function isTrailersOnly(answer: RawGrpcAnswer): boolean {
  return answer.trailers === answer.headers;
}

function requestIdOf(answer: RawGrpcAnswer): unknown {
  return answer.headers["x-request-id"] ?? answer.trailers["x-request-id"];
}

function metadata(...frames: http2.IncomingHttpHeaders[]): Record<string, string | string[] | number> {
  const out: Record<string, string | string[] | number> = {};
  for (const frame of frames) {
    for (const [key, value] of Object.entries(frame)) {
      if (value === undefined || UNCOMPARED_HEADERS.includes(key)) continue;
      out[key] = value;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
