import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { StreamDrain } from "../pipeline/stream-drain.js";
import { registerHealthRoutes } from "./health-routes.js";
import { registerMetricsRoute } from "./metrics-routes.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Ends the streams in flight on shutdown; its interceptor is in the call chain. */
    streamDrain: StreamDrain;
  }
}

async function operations(app: FastifyInstance): Promise<void> {
  const { health, metrics } = app;
  metrics.addMethods(app.registrations.flatMap((r) => r.service.methods));
  const drain = new StreamDrain();
  app.decorate("streamDrain", drain);

  registerHealthRoutes(app, health);
  registerMetricsRoute(app, metrics);
  // Callers may bring their own request id (x-request-id); either way the
  // response carries the id the log lines of the call show.
  // (A callback hook, not an async one: no promise on every request.)
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // Closing starts with telling balancers to go elsewhere and ending the
  // streams that would otherwise hold the server open forever.
  app.addHook("preClose", async () => {
    health.drain();
    await drain.drain();
  });
}

/**
 * operationsPlugin adds what operators point their tools at: the HTTP
 * probes, the Prometheus endpoint (every method's series present from the
 * start), request ids, and draining on close (health NOT_SERVING, streams
 * in flight ended with UNAVAILABLE through the drain in the call chain).
 */
export const operationsPlugin = fp(operations, {
  name: "stockify-operations",
  fastify: "5.x",
  dependencies: ["stockify-services"],
  decorators: { fastify: ["metrics"] },
});
