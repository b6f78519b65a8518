import { Code, ConnectError } from "@connectrpc/connect";
import { CallControl, type CallContextInit } from "../../pipeline/call-context.js";
import type { ResponseWriter } from "./response-writer.js";

/**
 * CallStatus is how a call on the lane ends: OK, with the call's response
 * metadata and, for a unary call, its one framed message; or an error.
 */
export type CallStatus =
  | { readonly ok: true; readonly header: Headers | undefined; readonly trailer: Headers | undefined; readonly message?: Buffer }
  | { readonly ok: false; readonly error: unknown };

/**
 * GrpcCall is one call on the gRPC lane. Like grpc-js's server call, it
 * keeps its state to itself and ends every path through one exit,
 * `finish`: the first status wins, and nothing is written after it or
 * after the client went away.
 */
export class GrpcCall {
  /** The call's context; its `context` is what the handler sees. */
  readonly control: CallControl;
  private answered = false;

  constructor(
    private readonly writer: ResponseWriter,
    init: Omit<CallContextInit, "onTimeout">,
  ) {
    const stream = writer.stream;
    // An 'error' with no listener would take the process down; the call's
    // own 'close' handling is what matters.
    stream.on("error", ignore);
    this.control = new CallControl({
      ...init,
      // The client stops waiting at its deadline: say so at once rather
      // than when a slow implementation gets round to returning.
      onTimeout: (error) => this.finish({ ok: false, error }),
    });
    stream.once("close", () => {
      // A stream that closes before its call answered was cancelled by the client.
      if (!this.answered) this.control.abort(new ConnectError("the operation was aborted", Code.Canceled));
    });
  }

  /** True once the call's status went out or the client went away: nothing more is to be written. */
  get ended(): boolean {
    return this.answered || this.writer.stream.destroyed;
  }

  /**
   * finish ends the call with its status. An error also ends the call's
   * signal, whatever came first, so the handler stops its work.
   */
  finish(status: CallStatus): void {
    if (!status.ok) this.control.abort(status.error);
    if (this.ended) return;
    this.answered = true;
    if (status.ok) {
      this.writer.sendHeaders(status.header);
      this.writer.end(status.trailer, status.message);
    } else {
      this.writer.fail(status.error, this.control.responseHeaderIfAny, this.control.trailerIfAny);
    }
  }
}

function ignore(): void {}
