import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { CallTracingOptions } from "../pipeline/call-tracing.js";
import { traceRedisCommands } from "./redis-tracing.js";

/** The service name spans carry unless OTEL_SERVICE_NAME says otherwise. */
const DEFAULT_SERVICE_NAME = "stockify-gateway";

/**
 * GatewayTracing is a running OpenTelemetry tracer: what the call tracing
 * interceptor needs, and how to flush what it has not exported yet.
 */
export interface GatewayTracing extends CallTracingOptions {
  /** Exports the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

/**
 * tracingFromEnvironment starts OpenTelemetry tracing as the standard
 * OTEL_* environment variables ask, or returns undefined when they ask for
 * none: tracing is on when an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or
 * OTEL_TRACES_EXPORTER is `otlp`, and off when OTEL_SDK_DISABLED is `true`
 * or OTEL_TRACES_EXPORTER is `none`. Spans go over OTLP/HTTP with protobuf
 * bodies; the exporter reads its own variables (headers, timeout,
 * compression, certificates), the sampler comes from OTEL_TRACES_SAMPLER
 * and OTEL_TRACES_SAMPLER_ARG, and the resource from OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES. Redis commands get client spans too
 * (traceRedisCommands).
 */
export function tracingFromEnvironment(env: NodeJS.ProcessEnv): GatewayTracing | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((name) => name.trim().toLowerCase());
  if (exporters.includes("none")) return undefined;
  const endpointSet = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!endpointSet && !exporters.includes("otlp")) return undefined;

  // Handlers and the Redis store run inside the call's span only if the
  // context follows async work; without a manager every span is a root.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME,
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnvironment(env),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  const tracer = provider.getTracer("stockify-gateway");
  const stopRedisTracing = traceRedisCommands(tracer);
  return {
    tracer,
    propagator: new W3CTraceContextPropagator(),
    shutdown: () => {
      stopRedisTracing();
      return provider.shutdown();
    },
  };
}

/**
 * samplerFromEnvironment reads OTEL_TRACES_SAMPLER (default
 * `parentbased_always_on`: follow the caller's decision, sample every root)
 * and, for the ratio samplers, OTEL_TRACES_SAMPLER_ARG (default 1).
 */
export function samplerFromEnvironment(env: NodeJS.ProcessEnv): Sampler {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || "parentbased_always_on";
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 && env.OTEL_TRACES_SAMPLER_ARG?.trim() ? arg : 1;
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
