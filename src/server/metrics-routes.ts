import type { FastifyInstance } from "fastify";
import type { GatewayMetrics } from "../pipeline/gateway-metrics.js";

/**
 * registerMetricsRoute adds `GET /metrics`, the Prometheus scrape endpoint.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.get("/metrics", async (_request, reply) => {
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });
}
