import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";

/**
 * Scope is a permission a caller's credential carries: `read` for market
 * data, `write` for publishing ticks, `admin` for creating and renaming
 * symbols (beside `write`).
 */
export type Scope = "read" | "write" | "admin";

/**
 * ServiceRegistration pairs a service descriptor with its implementation and
 * the scope its callers need.
 */
export interface ServiceRegistration<S extends DescService = DescService> {
  readonly service: S;
  readonly implementation: ServiceImpl<S>;
  /**
   * Scope a caller's token must carry; undefined asks only for a valid
   * token. Services the operator opens (AUTH_OPEN_SERVICES) need none.
   */
  readonly scope?: Scope;
}

/**
 * RegistrationOptions declare what a service asks of its callers.
 */
export interface RegistrationOptions {
  /** Scope a caller's token must carry. Default: any valid token. */
  scope?: Scope;
}

/**
 * GatewayServices is the one list of services and the one chain of
 * interceptors that every lane and route serves: Connect (gRPC, gRPC-Web,
 * Connect), the REST transcoder and any faster lane all read them from
 * here, so none can skip auth, limits or metrics. Both lists are frozen once
 * built.
 */
export interface GatewayServices {
  readonly registrations: readonly ServiceRegistration[];
  /** Applied in order, outermost first, to every call of every protocol. */
  readonly interceptors: readonly Interceptor[];
}

/**
 * registration keeps the service and implementation types tied together,
 * and carries the scope the service declares.
 */
export function registration<S extends DescService>(
  service: S,
  implementation: ServiceImpl<S>,
  options: RegistrationOptions = {},
): ServiceRegistration {
  const declared = options.scope === undefined ? { service, implementation } : { service, implementation, scope: options.scope };
  return declared as unknown as ServiceRegistration;
}
