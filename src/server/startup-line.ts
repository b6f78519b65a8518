import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";

/**
 * StartupLineOptions say which of the gateway's pages are on.
 */
export interface StartupLineOptions {
  /** TLS on: the addresses are https. */
  tls: boolean;
  /** The browser dashboard is served at `/`. */
  dashboard: boolean;
}

/**
 * registerStartupLine logs, once the gateway listens, one line a person
 * reads: where the dashboard, the API reference, the metrics and the
 * health probes are. Fastify's own "listening" lines name only the
 * addresses.
 */
export function registerStartupLine(app: FastifyInstance, options: StartupLineOptions): void {
  app.addHook("onListen", async () => {
    const address = app.server.address() as AddressInfo | string | null;
    if (address === null || typeof address === "string") return;
    // A wildcard bind is reachable on loopback; a link shows that one.
    const host = address.address === "0.0.0.0" || address.address === "::" ? "127.0.0.1" : address.address;
    const base = `${options.tls ? "https" : "http"}://${address.family === "IPv6" && host.includes(":") ? `[${host}]` : host}:${address.port}`;
    const places = [
      ...(options.dashboard ? [`dashboard ${base}/`] : []),
      `API reference ${base}/docs`,
      `metrics ${base}/metrics`,
      `health ${base}/healthz and ${base}/readyz`,
    ];
    app.log.info({ url: base }, `Stockify Gateway is up: ${places.join(", ")}`);
  });
}
