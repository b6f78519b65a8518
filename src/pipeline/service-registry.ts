import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";

/**
 * ServiceRegistration pairs a service descriptor with its implementation.
 */
export interface ServiceRegistration<S extends DescService = DescService> {
  readonly service: S;
  readonly implementation: ServiceImpl<S>;
}

/**
 * GatewayServices is the one list of services and the one chain of
 * interceptors that every lane and route serves: Connect (gRPC, gRPC-Web,
 * Connect), the REST transcoder and any faster lane all read them from
 * here, so none can skip auth, limits or metrics.
 */
export interface GatewayServices {
  readonly registrations: ServiceRegistration[];
  /** Applied in order, outermost first, to every call of every protocol. */
  readonly interceptors: Interceptor[];
}

/**
 * registration keeps the service and implementation types tied together.
 */
export function registration<S extends DescService>(service: S, implementation: ServiceImpl<S>): ServiceRegistration {
  return { service, implementation } as unknown as ServiceRegistration;
}
