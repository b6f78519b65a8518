/**
 * GrpcLaneCase is one way the gateway can answer `application/grpc` calls,
 * as the environment that selects it.
 */
export interface GrpcLaneCase {
  name: string;
  env: Record<string, string>;
}

/**
 * GRPC_LANES lists both: the lean lane (the default) and Connect's handler
 * (GRPC_LANE=off). A suite that concerns gRPC callers runs once per lane,
 * so that both keep every promise it checks.
 */
export const GRPC_LANES: readonly GrpcLaneCase[] = [
  { name: "gRPC on the lean lane", env: {} },
  { name: "gRPC on Connect's handler", env: { GRPC_LANE: "off" } },
];
