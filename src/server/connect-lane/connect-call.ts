import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { CallControl, type CallContextInit } from "../../pipeline/call-context.js";
import { errorAnswer, writeUnaryAnswer, type LaneResponse, type UnaryAnswer } from "./unary-response.js";

/**
 * ConnectCallStatus is how a unary Connect call ends: OK with its encoded
 * message and the metadata the call set, or an error.
 */
export type ConnectCallStatus =
  | { readonly ok: true; readonly body: Uint8Array; readonly header: Headers | undefined; readonly trailer: Headers | undefined }
  | { readonly ok: false; readonly error: unknown };

/**
 * ConnectCallWire is how a call's answer goes out: its content type, the
 * compression negotiated for it, and the request id it echoes.
 */
export interface ConnectCallWire {
  readonly contentType: string;
  readonly compression: Compression | null;
  readonly compressMinBytes: number;
  readonly requestId: string | undefined;
}

/**
 * ConnectCall is one unary call on the Connect lane. Like the gRPC lane's
 * call, its state is its own and every path ends in one `finish`: the
 * first status wins, and nothing is written after it or after the client
 * went away.
 */
export class ConnectCall {
  /** The call's context; its `context` is what the handler sees. */
  readonly control: CallControl;
  private answered = false;

  constructor(
    private readonly response: LaneResponse,
    private readonly wire: ConnectCallWire,
    init: Omit<CallContextInit, "onTimeout">,
  ) {
    this.control = new CallControl({
      ...init,
      // The client stops waiting at its deadline: say so at once.
      onTimeout: (error) => this.finish({ ok: false, error }),
    });
    response.once("close", () => {
      // A response that closes before its call answered: the client went away.
      if (!this.answered) this.control.abort(new ConnectError("the operation was aborted", Code.Canceled));
    });
  }

  /** True once the call's answer went out or the client went away. */
  get ended(): boolean {
    return this.answered || this.response.destroyed;
  }

  /**
   * finish ends the call with its status. An error also ends the call's
   * signal, whatever came first, so the handler stops its work.
   */
  finish(status: ConnectCallStatus): void {
    if (!status.ok) this.control.abort(status.error);
    else this.control.done();
    if (this.ended) return;
    this.answered = true;
    const control = this.control;
    const wire = this.wire;
    const answer: UnaryAnswer = status.ok
      ? { status: 200, contentType: wire.contentType, body: status.body, header: status.header, trailer: status.trailer }
      : errorAnswer(status.error, control.responseHeaderIfAny, control.trailerIfAny);
    writeUnaryAnswer(this.response, answer, wire.compression, wire.compressMinBytes, wire.requestId).catch(() => this.response.destroy());
  }
}
