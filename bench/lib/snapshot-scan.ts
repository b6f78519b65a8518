/**
 * SnapshotScanner reads the three fields a fan-out subscriber needs (symbol
 * id, sequence, exchange time) straight from an encoded
 * SubscribeSnapshotsResponse, skipping every other field by its wire type.
 *
 * A million messages a second decoded with fromBinary would cost the client
 * more CPU than the server it measures; this costs a few dozen byte reads.
 */
export class SnapshotScanner {
  /** symbol_id of the last snapshot scanned. */
  symbolId = 0;
  /** sequence of the last snapshot scanned. */
  sequence = 0;
  /** exchange_time of the last snapshot scanned, in microseconds since the Unix epoch; 0 when absent. */
  exchangeMicros = 0;
  #pos = 0;

  /**
   * scan reads the message in `buffer` between `start` and `end`; true when
   * it holds a snapshot (the fields are then set), false for a heartbeat or
   * anything else.
   */
  scan(buffer: Uint8Array, start: number, end: number): boolean {
    this.#pos = start;
    while (this.#pos < end) {
      const tag = this.#varint(buffer, end);
      if (tag === 0x0a) {
        const length = this.#varint(buffer, end);
        this.#snapshot(buffer, this.#pos + length);
        return true;
      }
      if (!this.#skip(buffer, end, tag)) return false;
    }
    return false;
  }

  #snapshot(buffer: Uint8Array, end: number): void {
    this.symbolId = 0;
    this.sequence = 0;
    this.exchangeMicros = 0;
    while (this.#pos < end) {
      const tag = this.#varint(buffer, end);
      // Field 1 (symbol_id) and 13 (sequence) are varints; 14 (exchange_time) a message.
      if (tag === 0x08) this.symbolId = this.#varint(buffer, end);
      else if (tag === 0x68) this.sequence = this.#varint(buffer, end);
      else if (tag === 0x72) {
        const length = this.#varint(buffer, end);
        this.exchangeMicros = this.#timestampMicros(buffer, this.#pos + length);
      } else if (!this.#skip(buffer, end, tag)) return;
    }
  }

  #timestampMicros(buffer: Uint8Array, end: number): number {
    let seconds = 0;
    let nanos = 0;
    while (this.#pos < end) {
      const tag = this.#varint(buffer, end);
      if (tag === 0x08) seconds = this.#varint(buffer, end);
      else if (tag === 0x10) nanos = this.#varint(buffer, end);
      else if (!this.#skip(buffer, end, tag)) break;
    }
    this.#pos = end;
    return seconds * 1_000_000 + Math.floor(nanos / 1000);
  }

  // Unknown fields, including ones a later version of the message adds, are
  // skipped by wire type; false when the type is one a message never holds.
  #skip(buffer: Uint8Array, end: number, tag: number): boolean {
    switch (tag & 7) {
      case 0:
        this.#varint(buffer, end);
        return true;
      case 1:
        this.#pos += 8;
        return true;
      case 2: {
        // Read first: `#pos += #varint()` would add to the position before the length.
        const length = this.#varint(buffer, end);
        this.#pos += length;
        return true;
      }
      case 5:
        this.#pos += 4;
        return true;
      default:
        this.#pos = end;
        return false;
    }
  }

  // Multiplies instead of shifting: 64-bit values stay exact up to 2^53.
  #varint(buffer: Uint8Array, end: number): number {
    let value = 0;
    let scale = 1;
    while (this.#pos < end) {
      const byte = buffer[this.#pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) break;
      scale *= 128;
    }
    return value;
  }
}
