import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  HealthCheckResponse_ServingStatus as Status,
  HealthCheckResponseSchema,
  HealthListResponseSchema,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "../gen/grpc/health/v1/health_pb.js";
import type { HealthMonitor, ServingStatus } from "./health-monitor.js";

/**
 * createHealthService implements grpc.health.v1.Health on a health monitor,
 * so that grpc_health_probe, Kubernetes gRPC probes and load balancers can
 * ask the gateway whether it takes traffic.
 */
export function createHealthService(monitor: HealthMonitor): ServiceImpl<typeof Health> {
  return {
    check(request: HealthCheckRequest) {
      const status = monitor.statusOf(request.service);
      if (status === undefined) throw new ConnectError(`unknown service: ${request.service}`, Code.NotFound);
      return response(toStatus(status));
    },

    async *watch(request: HealthCheckRequest, context: HandlerContext) {
      // Only the latest status matters to a watcher: changes that happen
      // while it is not reading collapse into the one it reads next.
      let latest = currentStatus(monitor, request.service);
      let sent: Status | undefined;
      let wakeUp: (() => void) | undefined;
      const stopListening = monitor.onChange(() => {
        latest = currentStatus(monitor, request.service);
        wakeUp?.();
      });
      const onAbort = () => wakeUp?.();
      context.signal.addEventListener("abort", onAbort, { once: true });
      try {
        while (!context.signal.aborted) {
          if (latest !== sent) {
            sent = latest;
            yield response(latest);
            continue;
          }
          await new Promise<void>((resolve) => (wakeUp = resolve));
          wakeUp = undefined;
        }
      } finally {
        stopListening();
        context.signal.removeEventListener("abort", onAbort);
      }
    },

    list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const service of monitor.services) statuses[service] = response(toStatus(monitor.statusOf(service)!));
      return create(HealthListResponseSchema, { statuses });
    },
  };
}

function currentStatus(monitor: HealthMonitor, service: string): Status {
  const status = monitor.statusOf(service);
  return status === undefined ? Status.SERVICE_UNKNOWN : toStatus(status);
}

function toStatus(status: ServingStatus): Status {
  return status === "SERVING" ? Status.SERVING : Status.NOT_SERVING;
}

function response(status: Status): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}
