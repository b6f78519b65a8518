import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { callProtocol, callProtocolKey } from "./call-protocol.js";

/**
 * PASSED_DEADLINE_MS is the longest timeout that has already passed when a
 * call starts. Node's timers count whole milliseconds, so a deadline of a
 * millisecond or less could only fire after the answer went out: grpc-go
 * and grpc-js answer such calls DEADLINE_EXCEEDED, and so does the gateway.
 */
export const PASSED_DEADLINE_MS = 1;

/**
 * callTimeoutKey carries the timeout a call asked for, in milliseconds, for
 * lanes that parse it themselves (the gRPC lane, REST); calls served by
 * Connect's handlers have it read from their headers.
 */
export const callTimeoutKey = createContextKey<number | undefined>(undefined, {
  description: "timeout the call asked for, in milliseconds",
});

/**
 * deadlineHasPassed tells whether a call's timeout is one that has passed
 * before the call could start.
 */
export function deadlineHasPassed(timeoutMs: number | undefined): boolean {
  return timeoutMs !== undefined && timeoutMs <= PASSED_DEADLINE_MS;
}

/**
 * createDeadlineGate returns the interceptor that answers DEADLINE_EXCEEDED
 * to a call whose deadline passed before it started (`grpc-timeout: 0S`,
 * `1n`; `connect-timeout-ms: 0`), on every protocol and lane, instead of
 * running it and answering OK to a client that stopped waiting.
 */
export function createDeadlineGate(): Interceptor {
  return (next) => (req) => {
    if (deadlineHasPassed(requestTimeoutMs(req))) {
      throw new ConnectError("the operation timed out", Code.DeadlineExceeded);
    }
    return next(req);
  };
}

function requestTimeoutMs(req: Parameters<ReturnType<Interceptor>>[0]): number | undefined {
  // Lanes of the gateway's own state the protocol and the timeout; reading
  // their headers again would build them for nothing.
  if (req.contextValues.get(callProtocolKey) !== undefined) return req.contextValues.get(callTimeoutKey);
  switch (callProtocol(req)) {
    case "connect":
      return parseConnectTimeout(req.header.get("connect-timeout-ms"), Number.MAX_SAFE_INTEGER).timeoutMs;
    default:
      return parseGrpcTimeout(req.header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER).timeoutMs;
  }
}
