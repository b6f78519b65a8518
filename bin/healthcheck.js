#!/usr/bin/env node
// Container HEALTHCHECK: exit 0 when the gateway on this host is ready to
// take traffic (GET /readyz on PORT, default 50051, answers 200 within 3
// seconds), 1 otherwise: while Redis is down or the gateway drains, /readyz
// answers 503 and the container reports "unhealthy". Plain JavaScript, no
// compiler: it runs every few seconds.
const port = process.env.PORT || "50051";
const scheme = process.env.TLS_CERT_FILE ? "https" : "http";
if (scheme === "https") process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
try {
  const response = await fetch(`${scheme}://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(3000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
