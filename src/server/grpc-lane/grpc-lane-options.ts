import type { ByteBudget } from "../../pipeline/byte-budget.js";
import type { StreamBudget } from "../../pipeline/stream-budget.js";
import type { ContextValues, Interceptor } from "@connectrpc/connect";
import { validateUniversalHandlerOptions, type Compression } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import type * as http2 from "node:http2";

/**
 * GrpcLaneOptions configure the gRPC lane; they mirror the options of
 * Connect's handlers so that both lanes behave alike.
 */
export interface GrpcLaneOptions {
  /** Interceptors every call passes through, outermost first. Default none. */
  interceptors?: readonly Interceptor[];
  /** Compressions accepted and offered. Default gzip and br, as connect-fastify. */
  acceptCompression?: readonly Compression[];
  /** Smallest response message worth compressing. Default 1024 bytes, as Connect. */
  compressMinBytes?: number;
  /** Largest request message accepted. Default 4 GiB - 1, as Connect. */
  readMaxBytes?: number;
  /** Largest response message sent. Default 4 GiB - 1, as Connect. */
  writeMaxBytes?: number;
  /** Longest deadline a client may ask for. Default unlimited. */
  maxTimeoutMs?: number;
  /**
   * The id of each call, from its request headers: the response echoes it
   * in `x-request-id`, and contextValues gets it for the call's log line.
   * Default none: no id, and no `x-request-id` in responses.
   */
  requestId?: (headers: http2.IncomingHttpHeaders) => string;
  /** Values a call's context starts with, from its request headers and id (a logger, say). Default none. */
  contextValues?: (headers: http2.IncomingHttpHeaders, requestId: string | undefined) => ContextValues;
  /**
   * Tells from a call's service and `authorization` header whether auth
   * refuses it, so the lane refuses it without reading its body. Default:
   * every call's body is read, and the interceptors decide.
   */
  refuses?: (service: string, authorization: string | undefined) => boolean;
  /** Milliseconds a request's body may take to arrive, in all. Default: no bound. */
  bodyTimeoutMs?: number;
  /** Budget of request bytes held at once, shared with the other lanes. Default: none. */
  budget?: ByteBudget;
  /** The process's budget for bytes held by server streams whose clients do not read. Default: none. */
  streamBudget?: StreamBudget;
}

/**
 * ResolvedGrpcLaneOptions are GrpcLaneOptions with every default filled in.
 */
export interface ResolvedGrpcLaneOptions {
  readonly interceptors: readonly Interceptor[];
  readonly acceptCompression: readonly Compression[];
  readonly compressMinBytes: number;
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly maxTimeoutMs: number;
  readonly requestId: ((headers: http2.IncomingHttpHeaders) => string) | undefined;
  readonly contextValues: ((headers: http2.IncomingHttpHeaders, requestId: string | undefined) => ContextValues) | undefined;
  readonly refuses: ((service: string, authorization: string | undefined) => boolean) | undefined;
  readonly bodyTimeoutMs: number | undefined;
  readonly budget: ByteBudget | undefined;
  readonly streamBudget: StreamBudget | undefined;
}

/**
 * validateGrpcLaneOptions fills in the defaults and checks the limits with
 * Connect's own validator, so the lane accepts exactly what Connect's
 * handlers accept.
 */
export function validateGrpcLaneOptions(options: GrpcLaneOptions = {}): ResolvedGrpcLaneOptions {
  const connect = validateUniversalHandlerOptions({
    // Connect leaves this default to its server plugins; connect-fastify offers both.
    acceptCompression: [...(options.acceptCompression ?? [compressionGzip, compressionBrotli])],
    compressMinBytes: options.compressMinBytes,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    maxTimeoutMs: options.maxTimeoutMs,
    interceptors: options.interceptors as Interceptor[] | undefined,
  });
  return {
    interceptors: connect.interceptors,
    acceptCompression: connect.acceptCompression,
    compressMinBytes: connect.compressMinBytes,
    readMaxBytes: connect.readMaxBytes,
    writeMaxBytes: connect.writeMaxBytes,
    maxTimeoutMs: connect.maxTimeoutMs,
    requestId: options.requestId,
    contextValues: options.contextValues,
    refuses: options.refuses,
    bodyTimeoutMs: options.bodyTimeoutMs,
    budget: options.budget,
    streamBudget: options.streamBudget,
  };
}
