import * as http2 from "node:http2";
import { NEVER_INDEXED_HEADERS } from "../grpc-lane/never-indexed-headers.js";

/**
 * StreamResponse answers a raw HTTP/2 stream with the few members of a
 * response the lanes use: the head set by writeHead goes out with the
 * first write or the end. Node's compatibility API would build an
 * Http2ServerRequest and an Http2ServerResponse for every stream and
 * convert the headers both ways; answered straight on the stream, a
 * unary call costs a fraction of that.
 */
export class StreamResponse {
  private status = 200;
  private headers: Record<string, string | string[]> = {};

  // Building one touches nothing: a lane may build it for a stream it then
  // passes on.
  constructor(private readonly stream: http2.ServerHttp2Stream) {}

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  // The call watches for its client's going from the start; from then, a
  // reset or a dead connection ends the call through 'close', and the
  // stream's error is not anyone's to throw.
  once(event: "close", listener: () => void): this {
    this.stream.on("error", ignore);
    this.stream.once(event, listener);
    return this;
  }

  destroy(): void {
    this.stream.destroy();
  }

  writeHead(status: number, headers: Record<string, string | string[]>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }

  write(chunk: Uint8Array): boolean {
    if (!this.respond()) return false;
    return this.stream.write(chunk);
  }

  end(chunk?: Uint8Array): this {
    if (this.respond()) this.stream.end(chunk);
    return this;
  }

  // Sends the head once; false when the stream can no longer be written.
  private respond(): boolean {
    const stream = this.stream;
    if (stream.destroyed || stream.writableEnded) return false;
    // The date, as Node's HTTP servers (and so Connect's handler) send it.
    if (!stream.headersSent) {
      stream.respond({ ...this.headers, ":status": this.status, date: httpDate(), [http2.sensitiveHeaders]: NEVER_INDEXED_HEADERS });
    }
    return true;
  }
}

function ignore(): void {}

let dateText = "";
let dateSecond = -1;

// The date header changes once a second: written once a second.
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
