import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope, envelopeCompress, type Compression } from "@connectrpc/connect/protocol";
import { setTrailerStatus, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type * as http from "node:http";
import type { CallControl } from "../../pipeline/call-context.js";
import type { UnaryCallStatus } from "../connect-lane/unary-call.js";
import type { LaneResponse } from "../connect-lane/unary-response.js";

/** The trailer of a call that succeeded with no trailers of its own, framed. */
const OK_TRAILER = encodeEnvelope(trailerFlag, new TextEncoder().encode("grpc-status: 0\r\n"));

/**
 * GrpcWebWire is how a gRPC-Web call's answer goes out: its content type,
 * the compression negotiated for it, and the request id it echoes.
 */
export interface GrpcWebWire {
  readonly contentType: string;
  readonly compression: Compression | null;
  readonly compressMinBytes: number;
  readonly requestId: string | undefined;
}

/**
 * writeGrpcWebAnswer sends a unary gRPC-Web answer as Connect's handler
 * does: the headers (its content type, grpc-encoding, the call's own,
 * sorted as a Headers object iterates), then the message's envelope and
 * the trailer envelope as two writes, so that even HTTP/1.1's chunks are
 * the same. An error is a trailer with its status, after the headers the
 * call had set.
 */
export async function writeGrpcWebAnswer(response: LaneResponse, status: UnaryCallStatus, control: CallControl, wire: GrpcWebWire): Promise<void> {
  const compression = wire.compression;
  const header = status.ok ? status.header : control.responseHeaderIfAny;
  const out: Record<string, string | string[]> = {};
  if (wire.requestId !== undefined) out["x-request-id"] = wire.requestId;
  if (header === undefined) {
    out["content-type"] = wire.contentType;
    if (compression !== null) out["grpc-encoding"] = compression.name;
  } else {
    const all = new Headers({ "content-type": wire.contentType });
    if (compression !== null) all.set("grpc-encoding", compression.name);
    header.forEach((value, key) => all.set(key, value));
    all.forEach((value, key) => {
      const existing = out[key];
      out[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    });
  }
  const own = status.ok ? status.trailer : control.trailerIfAny;
  let trailer: Uint8Array = OK_TRAILER;
  if (!status.ok || own !== undefined) {
    const fields = new Headers({ "grpc-status": "0" });
    own?.forEach((value, key) => fields.set(key, value));
    if (!status.ok) {
      const error =
        status.error instanceof ConnectError
          ? status.error
          : new ConnectError("internal error", Code.Internal, undefined, undefined, status.error);
      setTrailerStatus(fields, error);
    }
    trailer = await frame(trailerFlag, trailerSerialize(fields), wire);
  } else if (compression !== null && OK_TRAILER.length - 5 >= wire.compressMinBytes) {
    trailer = await frame(trailerFlag, OK_TRAILER.subarray(5), wire);
  }
  const res = response as http.ServerResponse;
  res.writeHead(200, out);
  if (status.ok) res.write(await frame(0, status.body, wire));
  res.end(trailer);
}

async function frame(flags: number, data: Uint8Array, wire: GrpcWebWire): Promise<Uint8Array> {
  const envelope = await envelopeCompress({ flags, data }, wire.compression, wire.compressMinBytes);
  return encodeEnvelope(envelope.flags, envelope.data);
}
