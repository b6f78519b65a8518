import { Code, ConnectError } from "@connectrpc/connect";
import { errorToJson } from "@connectrpc/connect/protocol-connect";
import type { JsonObject } from "@bufbuild/protobuf";

/**
 * HTTP_STATUS_BY_CODE is the standard mapping of gRPC status codes to HTTP
 * statuses (google/rpc/code.proto, as grpc-gateway and Envoy apply it).
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<Code, number>> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/**
 * HttpStatusError is an error answered with an HTTP status that the gRPC
 * table does not give (the REST transcoder's 404 for no route, 405, 413, 415).
 */
export class HttpStatusError extends ConnectError {
  readonly httpStatus: number;

  constructor(message: string, code: Code, httpStatus: number, headers?: HeadersInit) {
    super(message, code, headers);
    this.httpStatus = httpStatus;
  }
}

/**
 * HttpErrorResponse is what a plain-HTTP caller (REST, `/metrics`)
 * receives for a refused or failed request: the HTTP status, headers and
 * the JSON body `{"code", "message", "details"}`, the same shape as
 * Connect's JSON errors (code as a lower_snake_case name).
 */
export interface HttpErrorResponse {
  status: number;
  headers: Headers;
  body: JsonObject;
}

/**
 * httpErrorResponse is the gateway's one HTTP error renderer: it turns
 * anything thrown by a call or a guard into the error response. Errors that
 * are not ConnectErrors are reported as INTERNAL without their message,
 * which may hold server details.
 */
export function httpErrorResponse(error: unknown): HttpErrorResponse {
  const connectError =
    error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal);
  // ConnectError's instanceof accepts any ConnectError, so look for the field.
  const override = (connectError as Partial<HttpStatusError>).httpStatus;
  const status = typeof override === "number" ? override : HTTP_STATUS_BY_CODE[connectError.code];
  const headers = new Headers(connectError.metadata);
  if (connectError.code === Code.Unauthenticated && !headers.has("www-authenticate")) {
    headers.set("www-authenticate", "Bearer");
  }
  const body = errorToJson(connectError, undefined) as JsonObject;
  body.message ??= "";
  body.details ??= [];
  return { status: status ?? 500, headers, body };
}
