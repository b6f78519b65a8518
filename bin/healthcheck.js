#!/usr/bin/env node
// Container HEALTHCHECK: exit 0 when the gateway on this host answers its
// liveness probe (GET /healthz on PORT, default 50051) within 3 seconds.
// Plain JavaScript, no compiler: it runs every few seconds.
const port = process.env.PORT || "50051";
const scheme = process.env.TLS_CERT_FILE ? "https" : "http";
if (scheme === "https") process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
try {
  const response = await fetch(`${scheme}://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
