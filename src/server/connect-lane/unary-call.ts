import { Code, ConnectError } from "@connectrpc/connect";
import { CallControl, type CallContextInit } from "../../pipeline/call-context.js";
import type { LaneResponse } from "./unary-response.js";

/**
 * UnaryCallStatus is how a unary call ends: OK with its encoded message
 * and the metadata the call set, or an error.
 */
export type UnaryCallStatus =
  | { readonly ok: true; readonly body: Uint8Array; readonly header: Headers | undefined; readonly trailer: Headers | undefined }
  | { readonly ok: false; readonly error: unknown };

/**
 * UnaryAnswerWriter writes a call's status on its response, in its
 * protocol's terms; the call's control tells the metadata an error keeps.
 */
export type UnaryAnswerWriter = (response: LaneResponse, status: UnaryCallStatus, control: CallControl) => Promise<void>;

/**
 * UnaryCall is one unary call on a lane that answers through Node's
 * request and response objects (Connect, gRPC-Web), on HTTP/1.1 or
 * HTTP/2. Like the gRPC lane's call, its state is its own and every path
 * ends in one `finish`: the first status wins, and nothing is written
 * after it or after the client went away.
 */
export class UnaryCall {
  /** The call's context; its `context` is what the handler sees. */
  readonly control: CallControl;
  private answered = false;

  constructor(
    private readonly response: LaneResponse,
    private readonly write: UnaryAnswerWriter,
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
  finish(status: UnaryCallStatus): void {
    if (!status.ok) this.control.abort(status.error);
    else this.control.done();
    if (this.ended) return;
    this.answered = true;
    this.write(this.response, status, this.control).catch(() => this.response.destroy());
  }
}
