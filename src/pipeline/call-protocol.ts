import { createContextKey, type ContextValues } from "@connectrpc/connect";

/**
 * CALL_PROTOCOLS lists every wire protocol a call may arrive on; metrics
 * keep one slot per protocol, in this order.
 */
export const CALL_PROTOCOLS = ["grpc", "grpc-web", "connect", "rest"] as const;

/**
 * CallProtocol names the wire protocol a call arrived on, for metrics and logs.
 */
export type CallProtocol = (typeof CALL_PROTOCOLS)[number];

/**
 * callProtocolKey lets a lane that is not Connect's (the REST transcoder, a
 * faster gRPC lane) state the protocol of a call in its context values.
 */
export const callProtocolKey = createContextKey<CallProtocol | undefined>(undefined, {
  description: "wire protocol of the call",
});

/**
 * callProtocol tells the protocol of a call from its context values or,
 * for Connect's own handlers, from its content type.
 */
export function callProtocol(call: { readonly header: Headers; readonly contextValues: ContextValues }): CallProtocol {
  const stated = call.contextValues.get(callProtocolKey);
  if (stated !== undefined) return stated;
  const contentType = call.header.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  return "connect";
}
