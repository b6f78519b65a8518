/**
 * GrpcLaneCase is one way the gateway can answer `application/grpc` calls,
 * as the environment that selects it.
 */
export interface GrpcLaneCase {
  name: string;
  env: Record<string, string>;
}

/**
 * GRPC_LANES lists both: the lean lanes (the default) and Connect's handler
 * for every protocol (GRPC_LANE, CONNECT_LANE and GRPC_WEB_LANE off). A
 * suite that concerns gRPC callers (and the Connect and gRPC-Web callers
 * it checks beside them) runs once per case, so that both keep every
 * promise it checks.
 */
export const GRPC_LANES: readonly GrpcLaneCase[] = [
  { name: "the lean lanes", env: {} },
  { name: "lanes off: Connect's handler", env: { GRPC_LANE: "off", CONNECT_LANE: "off", GRPC_WEB_LANE: "off" } },
];
