import { Code, ConnectError, createContextKey, type ContextValues, type Interceptor } from "@connectrpc/connect";
import type { FastifyBaseLogger } from "fastify";
import { SlowConsumerError } from "../market/errors.js";
import { isPushedStream, observePushed } from "./pushed-stream.js";
import { callIdentityKey } from "./call-identity.js";
import { abortedSignalOf } from "./call-pipeline.js";
import { callProtocol, type CallProtocol } from "./call-protocol.js";
import { protocolSlot, STATUS_NAMES, type CallSlot, type GatewayMetrics } from "./gateway-metrics.js";

/**
 * callLoggerKey carries the logger of the HTTP request a call arrived on
 * (Fastify's, bound to its request id), so the call's log line names it.
 */
export const callLoggerKey = createContextKey<FastifyBaseLogger | undefined>(undefined, {
  description: "logger of the request that carries the call",
});

/**
 * callClientGoneKey carries, for lanes that learn of it only through their
 * transport (Connect's handlers), whether the client went away before the
 * call ended: its connection reset or its stream cancelled.
 */
export const callClientGoneKey = createContextKey<(() => boolean) | undefined>(undefined, {
  description: "whether the client went away before the call ended",
});

/**
 * CallObserverOptions say where the call observer reports.
 */
export interface CallObserverOptions {
  /** Where calls are counted and timed. */
  metrics: GatewayMetrics;
  /** Logger for calls whose context carries none. Default: only calls with a logger in their context are logged. */
  logger?: FastifyBaseLogger;
}

/**
 * createCallObserver returns the interceptor that measures every call once,
 * whatever its protocol or lane: duration, status and streamed messages go
 * to the metrics, and one log line per finished call goes to the log.
 *
 * It belongs first in the interceptor chain, so that calls refused by later
 * interceptors (auth, limits) are counted too.
 */
export function createCallObserver(options: CallObserverOptions): Interceptor {
  const { metrics } = options;
  return (next) => async (req) => {
    const protocol = callProtocol(req);
    const slot = metrics.slotsOf(req.method).byProtocol[protocolSlot(protocol)]!;
    const call: ObservedCall = {
      slot,
      protocol,
      metrics,
      logger: req.contextValues.get(callLoggerKey) ?? options.logger,
      started: performance.now(),
      request: req,
      finished: false,
    };
    let res;
    try {
      res = await next(req);
    } catch (error) {
      finish(call, error);
      throw error;
    }
    if (!res.stream) {
      finish(call, undefined);
      return res;
    }
    slot.activeStreams++;
    const message = isPushedStream(res.message)
      ? observePushed(res.message, {
          batch: (messages) => (slot.messagesSent += messages.length),
          end: (error) => {
            slot.activeStreams--;
            finish(call, error);
          },
        })
      : observeStream(res.message, call);
    return { ...res, message };
  };
}

interface ObservedCall {
  readonly slot: CallSlot;
  readonly protocol: CallProtocol;
  readonly metrics: GatewayMetrics;
  readonly logger: FastifyBaseLogger | undefined;
  readonly started: number;
  // The request, not its signal: most calls never need the signal, and
  // asking for it makes a lane build an AbortController for nothing.
  readonly request: { readonly signal: AbortSignal; readonly contextValues: ContextValues };
  finished: boolean;
}

async function* observeStream<T>(messages: AsyncIterable<T>, call: ObservedCall): AsyncGenerator<T> {
  let failure: unknown;
  try {
    for await (const message of messages) {
      call.slot.messagesSent++;
      yield message;
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    call.slot.activeStreams--;
    finish(call, failure);
  }
}

function finish(call: ObservedCall, error: unknown): void {
  if (call.finished) return;
  call.finished = true;
  const seconds = (performance.now() - call.started) / 1000;
  let code = 0;
  if (error !== undefined) {
    code = ConnectError.from(error).code;
    if (code === Code.ResourceExhausted && error instanceof ConnectError && error.cause instanceof SlowConsumerError) {
      call.metrics.slowConsumerClosed();
    }
  } else {
    // A stream the client cancelled (or whose deadline passed) ends
    // quietly on the server side; count it as what it was.
    const aborted = abortedSignalOf(call.request);
    if (aborted !== undefined) code = ConnectError.from(aborted.reason, Code.Canceled).code;
  }
  // Connect words a connection reset under a stream as INTERNAL (the
  // HTTP/2 code Node gives the streams of a dead connection), and writing
  // to such a stream fails; either way the call ended because its client
  // left, which the gRPC lane, like grpc-js, counts CANCELLED: no fault.
  if (code !== 0 && code !== Code.Canceled && call.request.contextValues.get(callClientGoneKey)?.() === true) code = Code.Canceled;
  call.slot.finish(code, seconds);
  const logger = call.logger;
  if (logger === undefined) return;
  const line = {
    method: call.slot.labels.method,
    protocol: call.protocol,
    code: STATUS_NAMES[code],
    durationMs: Math.round(seconds * 1e6) / 1e3,
    // Who called, by token fingerprint (never the token); absent when auth is off.
    token: call.request.contextValues.get(callIdentityKey)?.fingerprint,
  };
  // Server faults are errors; everything else, client mistakes included, is
  // the normal record of a call.
  if (code === Code.Internal || code === Code.Unknown || code === Code.DataLoss) logger.error({ ...line, err: error }, "call failed");
  else logger.info(line, "call");
}
