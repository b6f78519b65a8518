/**
 * NEVER_INDEXED_HEADERS names the response headers a lane sends over
 * HTTP/2 as HPACK literals that are never indexed (Node's
 * `http2.sensitiveHeaders`): their value is new on every response, so an
 * entry for it in the connection's header table would never be used, and
 * would push out the entries that are (content type, status, date).
 *
 * Indexed, the request id was the costliest part of a unary answer's
 * headers: in a side run (`perf record` on the gateway under `h2load -c 16
 * -m 1`, Connect JSON GetSnapshot), nghttp2's header encoder took 7.4% of
 * the gateway's CPU samples, and under 0.5% with the id never indexed.
 */
export const NEVER_INDEXED_HEADERS: readonly string[] = ["x-request-id"];
