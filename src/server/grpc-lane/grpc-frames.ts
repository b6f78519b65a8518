import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag } from "@connectrpc/connect/protocol";
import { grpcStatusOk, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { OutgoingHttpHeaders } from "node:http2";

/** Length of the gRPC message prefix: one flag byte and a big-endian uint32 length. */
export const FRAME_PREFIX_BYTES = 5;

/**
 * frameMessage puts the gRPC length prefix in front of one encoded message.
 */
export function frameMessage(bytes: Uint8Array, flags = 0): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + bytes.length);
  frame[0] = flags;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, FRAME_PREFIX_BYTES);
  return frame;
}

/**
 * checkFrameFlags refuses a request frame whose flags byte has a bit other
 * than the compressed flag: gRPC defines no other, and reading such a frame
 * as uncompressed would guess at what the client meant. grpc-go answers it
 * INTERNAL, and so do both lanes here.
 */
export function checkFrameFlags(flags: number): void {
  if ((flags & ~compressedFlag) !== 0) {
    throw new ConnectError(`protocol error: invalid frame flags 0x${flags.toString(16).padStart(2, "0")}`, Code.Internal);
  }
}

/**
 * UnaryFrame is the one message a unary or server-streaming request carries.
 */
export interface UnaryFrame {
  readonly compressed: boolean;
  readonly bytes: Uint8Array;
}

/**
 * parseSingleFrame reads the one length-prefixed message of a request body,
 * rejecting bodies that hold none, several, or a truncated one.
 */
export function parseSingleFrame(body: Buffer, readMaxBytes: number, kind: string): UnaryFrame {
  if (body.length === 0) {
    throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  }
  if (body.length < FRAME_PREFIX_BYTES) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  const length = body.readUInt32BE(1);
  if (length > readMaxBytes) {
    throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  }
  if (body.length < FRAME_PREFIX_BYTES + length) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  if (body.length > FRAME_PREFIX_BYTES + length) {
    throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
  }
  checkFrameFlags(body[0]!);
  return {
    compressed: (body[0]! & compressedFlag) === compressedFlag,
    bytes: body.subarray(FRAME_PREFIX_BYTES),
  };
}

/** The trailers of a call that succeeded with no trailers of its own. */
export const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ "grpc-status": grpcStatusOk });

/**
 * statusTrailers turns an error into gRPC status trailers (code, message,
 * details, and the error's own metadata), as Connect's gRPC handler does.
 */
export function statusTrailers(error: unknown, trailer?: Headers): OutgoingHttpHeaders {
  const connectError =
    error instanceof ConnectError ? error : new ConnectError("internal error", Code.Internal, undefined, undefined, error);
  const target = setTrailerStatus(trailer ?? new Headers(), connectError);
  return headersObject(target);
}

/**
 * headersObject converts Fetch API headers to the object node:http2 takes.
 */
export function headersObject(headers: Headers, into: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  headers.forEach((value, key) => {
    into[key] = value;
  });
  return into;
}
