/**
 * grpcFrame prefixes a message with gRPC's 5-byte header (not compressed,
 * big-endian length).
 */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * GrpcMessageReader splits a gRPC response body, arriving in chunks of any
 * size, into messages by their length prefixes alone.
 */
export class GrpcMessageReader {
  #pending: Buffer | undefined;

  /**
   * push feeds a chunk and calls `onMessage` with the bounds of every
   * message it completes in `buffer` (valid only during the call); returns
   * how many there were.
   */
  push(chunk: Buffer, onMessage?: (buffer: Buffer, start: number, end: number) => void): number {
    const buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    let offset = 0;
    let messages = 0;
    while (buffer.length - offset >= 5) {
      const length = buffer.readUInt32BE(offset + 1);
      if (buffer.length - offset - 5 < length) break;
      messages++;
      onMessage?.(buffer, offset + 5, offset + 5 + length);
      offset += 5 + length;
    }
    // Keep a copy of the partial message only: the chunk itself is released.
    if (offset < buffer.length) this.#pending = Buffer.from(buffer.subarray(offset));
    return messages;
  }
}
