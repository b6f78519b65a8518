import type { PipelineResponse } from "../../pipeline/call-pipeline.js";
import { isBatchedIterable, messageBatches } from "../../pipeline/message-batches.js";
import type { GrpcCall } from "./grpc-call.js";
import type { ResponseWriter } from "./response-writer.js";
import { StreamWriter, type FlushScheduler } from "./stream-writer.js";

/**
 * writeServerStream writes a server-streaming call's messages as they
 * come, then finishes the call with OK. Headers go out with the first
 * messages, so that the implementation can still set them before its
 * first yield. A stream that yields batches is written a batch at a time,
 * each batch in one flush; the writer waits while the stream has no
 * window, so a slow client holds back its own (conflating) subscription
 * and nothing else.
 */
export async function writeServerStream(
  call: GrpcCall,
  response: PipelineResponse<AsyncIterable<unknown>>,
  writer: ResponseWriter,
  scheduler: FlushScheduler,
): Promise<void> {
  const frames = new StreamWriter(writer.stream, scheduler);
  let headersSent = false;
  const send = async (messages: Iterable<unknown>) => {
    if (!headersSent) {
      writer.sendHeaders(response.header());
      headersSent = true;
    }
    for (const message of messages) {
      // No compression, no await: most streams pay for no promise per message.
      const frame = writer.compression === null ? writer.frame(message) : await writer.encode(message);
      if (!frames.write(frame)) await frames.drained();
    }
  };
  if (isBatchedIterable(response.message)) {
    const batches = response.message[messageBatches]();
    for (;;) {
      // A failed read ends the call as it is; the source is not asked to return.
      const result = await batches.next();
      if (result.done === true) break;
      if (call.ended) {
        await batches.return?.();
        break;
      }
      try {
        await send(result.value);
        await frames.flushed();
      } catch (error) {
        await batches.return?.();
        throw error;
      }
    }
  } else {
    const one: unknown[] = [undefined];
    for await (const message of response.message) {
      if (call.ended) break;
      one[0] = message;
      await send(one);
    }
  }
  call.control.done();
  if (call.ended) return;
  frames.flush();
  call.finish({ ok: true, header: response.header(), trailer: response.trailer() });
}
