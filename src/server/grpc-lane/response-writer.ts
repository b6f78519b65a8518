import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { compressedFlag, type Compression } from "@connectrpc/connect/protocol";
import { contentTypeProto } from "@connectrpc/connect/protocol-grpc";
import * as http2 from "node:http2";
import * as zlib from "node:zlib";
import { normalize } from "../../pipeline/call-pipeline.js";
import { framedMessage } from "./frame-cache.js";
import { NEVER_INDEXED_HEADERS } from "./never-indexed-headers.js";
import { FRAME_PREFIX_BYTES, frameMessage, headersObject, OK_TRAILERS, statusTrailers } from "./grpc-frames.js";

// Bytes of shared batches, with what they were framed under.
const batchFrames = new WeakMap<readonly unknown[], { schema: DescMessage; writeMaxBytes: number; bytes: Buffer }>();

const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = Object.freeze({
  ":status": 200,
  "content-type": contentTypeProto,
});

/**
 * ResponseLimits are the sizes a response writer keeps to.
 */
export interface ResponseLimits {
  /** Largest response message sent; a larger one is RESOURCE_EXHAUSTED. */
  readonly writeMaxBytes: number;
  /** Smallest response message worth compressing. */
  readonly compressMinBytes: number;
}

/**
 * ResponseWriter writes one gRPC response on an HTTP/2 stream: the
 * headers, the framed (and maybe compressed) messages, and the status in
 * trailers, or alone in a trailers-only answer. Which status is sent, and
 * when, is the call's to decide.
 */
export class ResponseWriter {
  constructor(
    /** The HTTP/2 stream the response goes out on. */
    readonly stream: http2.ServerHttp2Stream,
    private readonly schema: DescMessage,
    /** The compression of response messages, null for none. */
    readonly compression: Compression | null,
    private readonly limits: ResponseLimits,
    /** The call's id, echoed in `x-request-id`; undefined for none. */
    private readonly requestId?: string,
  ) {}

  // The headers every answer of this call starts with; a copy only when it has an id.
  private baseHeaders(): http2.OutgoingHttpHeaders {
    if (this.requestId === undefined) return RESPONSE_HEADERS;
    return { ...RESPONSE_HEADERS, "x-request-id": this.requestId, [http2.sensitiveHeaders]: NEVER_INDEXED_HEADERS };
  }

  /**
   * sendHeaders sends the response headers with the call's own metadata,
   * once. Only metadata that someone set costs a conversion.
   */
  sendHeaders(header: Headers | undefined): void {
    const stream = this.stream;
    if (stream.headersSent) return;
    let out = this.baseHeaders();
    if (header !== undefined || this.compression !== null) {
      if (out === RESPONSE_HEADERS) out = { ...RESPONSE_HEADERS };
      if (header !== undefined) headersObject(header, out);
      if (this.compression !== null) out["grpc-encoding"] = this.compression.name;
    }
    stream.respond(out, { waitForTrailers: true });
  }

  /** frame encodes and frames one response message, uncompressed. */
  frame(message: unknown): Buffer {
    const frame = framedMessage(this.schema, normalize(this.schema, message) as never);
    const size = frame.length - FRAME_PREFIX_BYTES;
    if (size > this.limits.writeMaxBytes) {
      throw new ConnectError(`message size ${size} is larger than configured writeMaxBytes ${this.limits.writeMaxBytes}`, Code.ResourceExhausted);
    }
    return frame;
  }

  /** encode frames one response message, compressed when it is worth it. */
  async encode(message: unknown): Promise<Buffer> {
    const frame = this.frame(message);
    const compression = this.compression;
    if (compression === null || frame.length - FRAME_PREFIX_BYTES < this.limits.compressMinBytes) return frame;
    return frameMessage(await compression.compress(frame.subarray(FRAME_PREFIX_BYTES)), compressedFlag);
  }

  /**
   * frameForStream frames one message of a stream, compressed when it is
   * worth it. Synchronous, so that a batch of a stream is written in one
   * go: market-data messages are far below the compression threshold, and
   * zlib's one-shot calls on the rare large one cost microseconds.
   */
  frameForStream(message: unknown): Buffer {
    const frame = this.frame(message);
    const compression = this.compression;
    if (compression === null || frame.length - FRAME_PREFIX_BYTES < this.limits.compressMinBytes) return frame;
    return frameMessage(compressNow(compression.name, frame.subarray(FRAME_PREFIX_BYTES)), compressedFlag);
  }

  /**
   * frameBatch frames the messages of a batch, as frameForStream does each.
   * Uncompressed, a frozen batch (one the market handed to many streams
   * alike) is framed once, and every stream writes those bytes.
   */
  frameBatch(messages: readonly unknown[]): Buffer {
    if (this.compression !== null || !Object.isFrozen(messages)) return Buffer.concat(messages.map((m) => this.frameForStream(m)));
    let byLimit = batchFrames.get(messages);
    if (byLimit?.schema === this.schema && byLimit.writeMaxBytes === this.limits.writeMaxBytes) return byLimit.bytes;
    const bytes = Buffer.concat(messages.map((m) => this.frame(m)));
    batchFrames.set(messages, (byLimit = { schema: this.schema, writeMaxBytes: this.limits.writeMaxBytes, bytes }));
    return bytes;
  }

  /**
   * end sends the last frame, if any, and the OK status with the call's own
   * trailers. The headers must have gone out.
   */
  end(trailer: Headers | undefined, last?: Buffer): void {
    const stream = this.stream;
    let trailers = OK_TRAILERS;
    if (trailer !== undefined) {
      trailers = headersObject(trailer);
      trailers["grpc-status"] = OK_TRAILERS["grpc-status"];
    }
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    if (last === undefined) stream.end();
    else stream.end(last);
  }

  /**
   * fail sends an error status with the call's own trailers: alone in the
   * one HEADERS frame if no headers went out and the call set none
   * (trailers-only), after the headers and frames otherwise. Headers the
   * call set before it failed go out in their own HEADERS frame first, as
   * Connect's handler sends them: a trailers-only answer would drop them,
   * since gRPC clients read that frame as trailers alone.
   */
  fail(error: unknown, header: Headers | undefined, trailer: Headers | undefined): void {
    const stream = this.stream;
    const trailers = statusTrailers(error, trailer);
    if (!stream.headersSent && header === undefined) {
      stream.respond({ ...this.baseHeaders(), ...trailers }, { endStream: true });
      return;
    }
    if (!stream.headersSent) this.sendHeaders(header);
    if (stream.writable) {
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end();
    } else {
      stream.close();
    }
  }
}

// The compressions the lane accepts (Connect's gzip and br), run at once.
function compressNow(name: string, bytes: Uint8Array): Buffer {
  if (name === "gzip") return zlib.gzipSync(bytes);
  if (name === "br") return zlib.brotliCompressSync(bytes);
  throw new ConnectError(`compression ${name} is not supported on streams`, Code.Internal);
}
