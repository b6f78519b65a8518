import { Code, ConnectError } from "@connectrpc/connect";
import {
  InvalidTickError,
  SlowConsumerError,
  StoreUnavailableError,
  UnknownSymbolError,
} from "../market/errors.js";

/**
 * toConnectError maps a domain error to the ConnectError with the right
 * code; anything unexpected passes through (Connect reports it as INTERNAL
 * without leaking its message).
 */
export function toConnectError(error: unknown): unknown {
  if (error instanceof ConnectError) return error;
  if (error instanceof UnknownSymbolError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof InvalidTickError) return new ConnectError(error.message, Code.InvalidArgument);
  // The cause lets metrics tell a slow reader from other exhausted resources.
  if (error instanceof SlowConsumerError) return new ConnectError(error.message, Code.ResourceExhausted, undefined, undefined, error);
  if (error instanceof StoreUnavailableError) return new ConnectError(error.message, Code.Unavailable);
  return error;
}
