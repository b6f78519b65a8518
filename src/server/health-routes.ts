import type { FastifyInstance } from "fastify";
import type { HealthMonitor } from "../services/health-monitor.js";

/**
 * registerHealthRoutes adds the plain-HTTP probes: `GET /healthz` answers
 * 200 while the process can answer at all (liveness), `GET /readyz` answers
 * 200 while the gateway takes traffic and 503 while its store is down or it
 * drains for shutdown (readiness).
 */
export function registerHealthRoutes(app: FastifyInstance, monitor: HealthMonitor): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const status = monitor.status;
    return reply.code(status === "SERVING" ? 200 : 503).send({ status });
  });
}
