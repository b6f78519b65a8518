import type { FastifyInstance } from "fastify";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { createHealthService } from "../services/health-service.js";
import { reflectionRegistrations } from "../services/reflection-service.js";
import { createCallObserver } from "../pipeline/call-observer.js";
import { registration, type GatewayServices } from "../pipeline/service-registry.js";
import type { GatewayMetrics } from "../pipeline/gateway-metrics.js";
import { HealthMonitor, type StoreHealth } from "../services/health-monitor.js";
import { registerHealthRoutes } from "./health-routes.js";
import { registerMetricsRoute } from "./metrics-routes.js";
import { StreamDrain } from "../pipeline/stream-drain.js";

/**
 * OperationsOptions are what the operational features hook into.
 */
export interface OperationsOptions {
  /** The one list of services and interceptors; health is added to it. */
  services: GatewayServices;
  /** The store whose health readiness follows. */
  store: StoreHealth;
  /** Where calls are counted. */
  metrics: GatewayMetrics;
  /** Whether to serve grpc.reflection. Default true. */
  reflection?: boolean;
}

/**
 * Operations are the operational parts registerOperations built.
 */
export interface Operations {
  health: HealthMonitor;
  drain: StreamDrain;
}

/**
 * registerOperations adds what operators point their tools at: gRPC health
 * and the HTTP probes, server reflection, the call observer (metrics and one log line per call,
 * first in the interceptor chain so every lane and protocol passes it), the
 * Prometheus endpoint, request ids, and draining on close (health
 * NOT_SERVING, streams in flight ended with UNAVAILABLE). Call it once every service is in the
 * list, before the lanes that serve them are registered.
 */
export function registerOperations(app: FastifyInstance, options: OperationsOptions): Operations {
  const { services, metrics } = options;
  if (options.reflection ?? true) {
    services.registrations.push(...reflectionRegistrations(() => services.registrations.map((r) => r.service)));
  }
  const health = new HealthMonitor(options.store, [Health.typeName, ...services.registrations.map((r) => r.service.typeName)]);
  services.registrations.push(registration(Health, createHealthService(health)));
  metrics.addMethods(services.registrations.flatMap((r) => r.service.methods));
  const drain = new StreamDrain();
  services.interceptors.unshift(createCallObserver({ metrics, logger: app.log }), drain.interceptor);

  registerHealthRoutes(app, health);
  registerMetricsRoute(app, metrics);
  // Callers may bring their own request id (x-request-id); either way the
  // response carries the id the log lines of the call show.
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  // Closing starts with telling balancers to go elsewhere and ending the
  // streams that would otherwise hold the server open forever.
  app.addHook("preClose", async () => {
    health.drain();
    await drain.drain();
  });
  app.addHook("onClose", async () => health.close());
  return { health, drain };
}
