import { fromBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import type { Readable } from "node:stream";
import type { ByteBudget } from "../../pipeline/byte-budget.js";
import { FRAME_PREFIX_BYTES, parseSingleFrame } from "./grpc-frames.js";

/**
 * RequestShape says what a request body must hold: one message of a
 * schema, maybe compressed, within readMaxBytes.
 */
export interface RequestShape {
  readonly schema: DescMessage;
  /** The method's kind as Connect words it in errors: "unary" or "server-streaming". */
  readonly kind: string;
  /** The request's grpc-encoding, null for none. */
  readonly compression: Compression | null;
  readonly readMaxBytes: number;
  /** Milliseconds the whole body may take to arrive. Default: no bound. */
  readonly bodyTimeoutMs?: number;
  /** Budget the body's bytes, and its inflated message's, are held in while read and decoded. Default: none. */
  readonly budget?: ByteBudget;
}

/**
 * readRequest reads a unary or server-streaming call's request from its
 * stream: the whole body, then its one message. It rejects with
 * RESOURCE_EXHAUSTED as soon as the body outgrows readMaxBytes, and goes
 * on reading (and dropping) the rest, so the client can finish sending.
 */
export function readRequest(stream: Readable, shape: RequestShape): Promise<Message> {
  const budget = shape.budget;
  if (budget === undefined) return readBody(stream, shape.readMaxBytes, shape.bodyTimeoutMs).then((body) => decodeRequest(body, shape));
  let held = 0;
  const hold = (bytes: number) => {
    budget.take(bytes);
    held += bytes;
  };
  return readBody(stream, shape.readMaxBytes, shape.bodyTimeoutMs, hold)
    .then((body) => decodeRequest(body, shape, hold))
    .finally(() => budget.give(held));
}

/**
 * decodeRequest turns a request body into its message: one frame,
 * decompressed if flagged, parsed. Errors are the ones Connect's gRPC
 * handler gives.
 */
export async function decodeRequest(body: Buffer, shape: RequestShape, hold?: (bytes: number) => void): Promise<Message> {
  const frame = parseSingleFrame(body, shape.readMaxBytes, shape.kind);
  let bytes = frame.bytes;
  if (frame.compressed) {
    if (shape.compression === null) {
      throw new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal);
    }
    // zlib inflates off the event loop and stops at readMaxBytes as the
    // output grows, so a bomb is refused without being inflated whole.
    bytes = await shape.compression.decompress(bytes, shape.readMaxBytes);
    hold?.(bytes.length);
  }
  try {
    return fromBinary(shape.schema, bytes);
  } catch (error) {
    // gRPC servers answer INTERNAL to a request they cannot decode; Connect's words.
    throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
  }
}

function readBody(
  stream: Readable,
  readMaxBytes: number,
  bodyTimeoutMs: number | undefined,
  hold?: (bytes: number) => void,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let body: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let received = 0;
    let rejected = false;
    // A deadline for the whole body: a client trickling a byte now and then
    // would otherwise hold the stream, and what it sent, for good.
    const deadline =
      bodyTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            if (rejected) return;
            rejected = true;
            reject(new ConnectError(`request body not received within ${bodyTimeoutMs} ms`, Code.DeadlineExceeded));
          }, bodyTimeoutMs);
    stream.once("close", () => clearTimeout(deadline));
    stream.on("data", (chunk: Buffer) => {
      if (rejected) return;
      received += chunk.length;
      if (received > readMaxBytes + FRAME_PREFIX_BYTES) {
        rejected = true;
        clearTimeout(deadline);
        reject(new ConnectError(`message size is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      try {
        hold?.(chunk.length);
      } catch (error) {
        rejected = true;
        clearTimeout(deadline);
        reject(error);
        return;
      }
      // Most requests arrive in one chunk: no copy then.
      if (body === undefined) body = chunk;
      else (parts ??= [body]).push(chunk);
    });
    stream.once("end", () => {
      clearTimeout(deadline);
      if (rejected) return;
      resolve(parts !== undefined ? Buffer.concat(parts) : (body ?? Buffer.alloc(0)));
    });
  });
}

/**
 * BodyLimits bound the reading of a one-message request body beyond its
 * size: a deadline for the whole body, and a budget shared by every lane.
 */
export interface BodyLimits {
  /** Milliseconds the whole body may take to arrive. Default: no bound. */
  readonly bodyTimeoutMs?: number;
  /** Budget the body's bytes are held in while it is read. Default: none. */
  readonly budget?: ByteBudget;
}

/**
 * BodyGuard is what a lane's body reader calls as bytes arrive.
 */
export interface BodyGuard {
  /** Holds a chunk's bytes; false (after failing the read) when the budget refuses them. */
  take(bytes: number): boolean;
  /** Gives back what was held and stops the deadline; called again, does nothing. */
  release(): void;
}

/**
 * guardBody applies BodyLimits to a body being read from `stream`: `fail`
 * gets DEADLINE_EXCEEDED when the deadline passes first, or the budget's
 * RESOURCE_EXHAUSTED; the bytes held are given back when the reader
 * releases them or the stream closes.
 */
export function guardBody(stream: Readable, limits: BodyLimits, fail: (error: unknown) => void): BodyGuard {
  const { bodyTimeoutMs, budget } = limits;
  let held = 0;
  let released = false;
  const deadline =
    bodyTimeoutMs === undefined
      ? undefined
      : setTimeout(() => fail(new ConnectError(`request body not received within ${bodyTimeoutMs} ms`, Code.DeadlineExceeded)), bodyTimeoutMs);
  const release = () => {
    if (released) return;
    released = true;
    clearTimeout(deadline);
    budget?.give(held);
  };
  stream.once("close", release);
  return {
    take(bytes) {
      if (budget === undefined || released) return true;
      try {
        budget.take(bytes);
      } catch (error) {
        fail(error);
        release();
        return false;
      }
      held += bytes;
      return true;
    },
    release,
  };
}
