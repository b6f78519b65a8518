import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * ReceivedSpan is a span as an OTLP exporter sent it, with the fields the
 * tests read.
 */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** service.name of the resource the span came with. */
  serviceName: string | undefined;
}

/**
 * OtlpReceiver is an OTLP/HTTP endpoint (protobuf bodies on /v1/traces), as
 * a collector would offer one, that keeps every span it receives.
 */
export interface OtlpReceiver {
  /** http://127.0.0.1:PORT, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

/** startOtlpReceiver listens on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method === "POST" && request.url === "/v1/traces") spans.push(...decodeTraces(Buffer.concat(chunks)));
      // An empty ExportTraceServiceResponse: everything accepted.
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Field {
  number: number;
  varint?: bigint;
  bytes?: Buffer;
  fixed?: Buffer;
}

/** The fields of one protobuf message, in order, without a schema. */
function fields(buffer: Buffer): Field[] {
  const out: Field[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[offset++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < buffer.length) {
    const key = Number(varint());
    const number = key >> 3;
    switch (key & 7) {
      case 0:
        out.push({ number, varint: varint() });
        break;
      case 1:
        out.push({ number, fixed: buffer.subarray(offset, offset + 8) });
        offset += 8;
        break;
      case 2: {
        const length = Number(varint());
        out.push({ number, bytes: buffer.subarray(offset, offset + length) });
        offset += length;
        break;
      }
      case 5:
        out.push({ number, fixed: buffer.subarray(offset, offset + 4) });
        offset += 4;
        break;
      default:
        throw new Error(`unexpected wire type in an OTLP body: ${key & 7}`);
    }
  }
  return out;
}

function messages(buffer: Buffer, number: number): Buffer[] {
  return fields(buffer)
    .filter((field) => field.number === number && field.bytes !== undefined)
    .map((field) => field.bytes!);
}

/** KeyValue (key = 1, value = 2: AnyValue with string 1, bool 2, int 3, double 4). */
function attributes(span: Buffer, number: number): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const keyValue of messages(span, number)) {
    const parts = fields(keyValue);
    const key = parts.find((field) => field.number === 1)?.bytes?.toString("utf8") ?? "";
    const value = parts.find((field) => field.number === 2)?.bytes;
    if (value === undefined) continue;
    const [any] = fields(value);
    if (any === undefined) continue;
    if (any.number === 1) out[key] = any.bytes!.toString("utf8");
    else if (any.number === 2) out[key] = any.varint === 1n;
    else if (any.number === 3) out[key] = Number(BigInt.asIntN(64, any.varint!));
    else if (any.number === 4) out[key] = any.fixed!.readDoubleLE(0);
  }
  return out;
}

/**
 * decodeTraces reads an ExportTraceServiceRequest: resource_spans (1) →
 * resource (1) and scope_spans (2) → spans (2).
 */
function decodeTraces(body: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of messages(body, 1)) {
    const [resource] = messages(resourceSpans, 1);
    const serviceName = resource === undefined ? undefined : attributes(resource, 1)["service.name"];
    for (const scopeSpans of messages(resourceSpans, 2)) {
      for (const span of messages(scopeSpans, 2)) {
        const parts = fields(span);
        const bytes = (number: number) => parts.find((field) => field.number === number)?.bytes ?? Buffer.alloc(0);
        out.push({
          traceId: bytes(1).toString("hex"),
          spanId: bytes(2).toString("hex"),
          traceState: bytes(3).toString("utf8"),
          parentSpanId: bytes(4).toString("hex"),
          name: bytes(5).toString("utf8"),
          kind: Number(parts.find((field) => field.number === 6)?.varint ?? 0n),
          attributes: attributes(span, 9),
          serviceName: typeof serviceName === "string" ? serviceName : undefined,
        });
      }
    }
  }
  return out;
}
