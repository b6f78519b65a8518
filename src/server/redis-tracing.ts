import { tracingChannel } from "node:diagnostics_channel";
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from "@opentelemetry/semantic-conventions";

// Database attributes of OpenTelemetry's semantic conventions that the
// package still files as incubating, copied as its authors advise.
const ATTR_DB_SYSTEM_NAME = "db.system.name";
const ATTR_DB_OPERATION_NAME = "db.operation.name";
const ATTR_DB_NAMESPACE = "db.namespace";
const ATTR_DB_OPERATION_BATCH_SIZE = "db.operation.batch.size";

/** What ioredis publishes about a command or a MULTI batch on its tracing channels. */
interface RedisOperation {
  command?: string;
  batchMode?: string;
  batchSize?: number;
  database?: number;
  serverAddress?: string;
  serverPort?: number;
  error?: unknown;
}

/**
 * traceRedisCommands gives every Redis round trip of ioredis in this
 * process a client span (`GET`, `EVALSHA`, `MULTI`), child of the span
 * active when the command was sent: a call's span, when the command serves
 * a call; a command sent outside any span (a keepalive PING) gets none. It listens on the tracing channels ioredis publishes to
 * (`ioredis:command`, `ioredis:batch`), which cost ioredis nothing while
 * no one listens. Returns the function that stops listening.
 */
export function traceRedisCommands(tracer: Tracer): () => void {
  const channels = [tracingChannel<unknown, RedisOperation>("ioredis:command"), tracingChannel<unknown, RedisOperation>("ioredis:batch")];
  const spans = new WeakMap<object, Span>();
  const handlers = {
    start(message: RedisOperation) {
      // Only round trips made for a traced piece of work: the store's own
      // keepalive PINGs and the simulator's writes would otherwise each be
      // a trace of their own, several a second.
      const parent = context.active();
      if (trace.getSpan(parent) === undefined) return;
      const name = message.command?.toUpperCase() ?? message.batchMode ?? "redis";
      const span = tracer.startSpan(
        name,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            [ATTR_DB_SYSTEM_NAME]: "redis",
            [ATTR_DB_OPERATION_NAME]: name,
            [ATTR_DB_NAMESPACE]: String(message.database ?? 0),
            ...(message.serverAddress === undefined ? {} : { [ATTR_SERVER_ADDRESS]: message.serverAddress }),
            ...(message.serverPort === undefined ? {} : { [ATTR_SERVER_PORT]: message.serverPort }),
            ...(message.batchSize === undefined ? {} : { [ATTR_DB_OPERATION_BATCH_SIZE]: message.batchSize }),
          },
        },
        parent,
      );
      spans.set(message, span);
    },
    end() {},
    asyncStart() {},
    asyncEnd(message: RedisOperation) {
      spans.get(message)?.end();
      spans.delete(message);
    },
    error(message: RedisOperation) {
      const span = spans.get(message);
      if (span === undefined) return;
      const error = message.error;
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    },
  };
  for (const channel of channels) channel.subscribe(handlers);
  return () => {
    for (const channel of channels) channel.unsubscribe(handlers);
  };
}
