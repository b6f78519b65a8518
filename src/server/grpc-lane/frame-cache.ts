import { toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { frameMessage } from "./grpc-frames.js";

// Keyed by the message object: an update fanned out to a thousand streams
// is one object, so it is encoded and framed once, not a thousand times.
const frames = new WeakMap<object, Buffer>();

/**
 * framedMessage encodes a message and prefixes it for the gRPC wire,
 * reusing the bytes of a frozen message that was framed before.
 *
 * Only frozen messages are cached: a frozen message cannot change after
 * it was encoded, while a handler may well reuse and mutate a plain one.
 */
export function framedMessage<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  if (!Object.isFrozen(message)) return frameMessage(toBinary(schema, message));
  let frame = frames.get(message);
  if (frame === undefined) {
    frame = frameMessage(toBinary(schema, message));
    frames.set(message, frame);
  }
  return frame;
}
