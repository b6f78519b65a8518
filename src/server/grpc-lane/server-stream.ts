import type { PipelineResponse } from "../../pipeline/call-pipeline.js";
import { pushedFromIterable } from "../../pipeline/pushed-stream.js";
import { writePushedStream } from "../../pipeline/pushed-stream-writer.js";
import type { StreamBudget } from "../../pipeline/stream-budget.js";
import type { GrpcCall } from "./grpc-call.js";
import type { ResponseWriter } from "./response-writer.js";

/**
 * writeServerStream writes a server-streaming call's messages as their
 * source pushes them, then finishes the call with its status. Headers go
 * out with the first messages, so that the implementation can still set
 * them before it sends anything. Each batch the source pushes (for market
 * data: every symbol that changed since the stream's last delivery) is one
 * write of frames encoded once for every stream; a stream without HTTP/2
 * window holds its source back, which conflates, and nothing else.
 */
export function writeServerStream(
  call: GrpcCall,
  response: PipelineResponse<AsyncIterable<unknown>>,
  writer: ResponseWriter,
  budget?: StreamBudget,
): Promise<void> {
  return new Promise((resolve) => {
    writePushedStream(writer.stream, pushedFromIterable(response.message), {
      encode: (message) => writer.frameForStream(message),
      encodeBatch: (messages) => writer.frameBatch(messages),
      beforeFirstWrite: () => writer.sendHeaders(response.header()),
      end(error) {
        call.control.done();
        if (error !== undefined) call.finish({ ok: false, error });
        else call.finish({ ok: true, header: response.header(), trailer: response.trailer() });
        resolve();
      },
    }, undefined, budget);
  });
}
