import { toBinary, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import { identityCache } from "../../pipeline/identity-cache.js";
import { frameMessage } from "./grpc-frames.js";

// Keyed by the message object: an update fanned out to a thousand streams
// is one object, so it is encoded and framed once, not a thousand times.
// Only frozen messages are remembered: a frozen message cannot change after
// it was encoded, while a handler may well reuse and mutate a plain one.
const frames = identityCache((message: Message, schema: DescMessage) => frameMessage(toBinary(schema, message)), { frozenOnly: true });

/**
 * framedMessage encodes a message and prefixes it for the gRPC wire,
 * reusing the bytes of a frozen message that was framed before.
 */
export function framedMessage<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  return frames(message, schema);
}
