import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { registration, type ServiceRegistration } from "../pipeline/service-registry.js";
import { HealthMonitor, type StoreHealth } from "../services/health-monitor.js";
import { createHealthService } from "../services/health-service.js";
import { reflectionRegistrations } from "../services/reflection-service.js";

/**
 * ServicesPluginOptions say which services the gateway serves.
 */
export interface ServicesPluginOptions {
  /** The API's services, each with the scope it declares. */
  api: readonly ServiceRegistration[];
  /** Whether to serve grpc.reflection (v1 and v1alpha). Default true. */
  reflection?: boolean;
  /** Stores of their own that services depend on, by service name, besides the snapshot store. Default none. */
  dependencies?: ReadonlyMap<string, StoreHealth>;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every service the gateway serves, health and reflection included; frozen. */
    registrations: readonly ServiceRegistration[];
    /** Whether the gateway should take traffic, as health checks and /readyz report it. */
    health: HealthMonitor;
  }
}

async function services(app: FastifyInstance, options: ServicesPluginOptions): Promise<void> {
  const registrations = [...options.api];
  if (options.reflection ?? true) {
    // Read on the first reflection request, when the list below is complete.
    registrations.push(...reflectionRegistrations(() => registrations.map((r) => r.service)));
  }
  const health = new HealthMonitor(app.market.store, [Health.typeName, ...registrations.map((r) => r.service.typeName)], options.dependencies);
  registrations.push(registration(Health, createHealthService(health)));
  app.decorate("registrations", Object.freeze(registrations));
  app.decorate("health", health);
  app.addHook("onClose", async () => health.close());
}

/**
 * servicesPlugin completes the gateway's list of services: the API's own,
 * then grpc.reflection and grpc.health.v1, whose answers cover the whole
 * list. The list is frozen, so every lane serves the same services.
 */
export const servicesPlugin = fp(services, {
  name: "stockify-services",
  fastify: "5.x",
  decorators: { fastify: ["market"] },
});
