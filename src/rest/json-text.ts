import { isMessage, toJson, type DescMessage, type JsonObject, type Message } from "@bufbuild/protobuf";
import { SubscribeSnapshotsResponseSchema } from "../gen/stockify/v1/market_data_service_pb.js";
import { identityCache } from "../pipeline/identity-cache.js";
import { isLtpSnapshot } from "../services/snapshot-messages.js";
import type { HttpBinding } from "./http-bindings.js";

// Every field present: REST callers should not have to know proto3's defaults.
const JSON_OPTIONS = { alwaysEmitImplicit: true } as const;
// Except in an LTP snapshot, which promises four fields: writing the others
// as zeros would tell a caller that the day opened at 0.
const LTP_JSON_OPTIONS = {} as const;

// Keyed by the message object: an update fanned out to many streams is one
// frozen object, so it is written as JSON once, not once per stream.
const messageJsonText = identityCache(
  (message: Message, schema: DescMessage) => JSON.stringify(toJson(schema, message, jsonOptions(message))),
  { frozenOnly: true },
);

/**
 * responseJsonText writes a response message as the body of a REST call:
 * proto3 JSON with every field present, or only the binding's
 * response_body field. A frozen message (which cannot change after it was
 * written) is written once and its text reused; a handler may well reuse
 * and mutate a plain one.
 */
export function responseJsonText(binding: HttpBinding, message: Message): string {
  const field = binding.responseBody;
  if (field !== undefined) {
    // A message field is written as that message on its own, so a shared
    // one (a snapshot read by every caller until it changes) is written once.
    if (field.fieldKind === "message" && field.oneof === undefined) {
      const value = (message as unknown as Record<string, unknown>)[field.localName];
      if (value === undefined) return "null";
      // Wrapper types are held unwrapped: those take the general path.
      if (isMessage(value, field.message)) return messageJsonText(value, field.message);
    }
    const json = toJson(binding.method.output, message, JSON_OPTIONS) as JsonObject;
    return JSON.stringify(json[field.jsonName] ?? null);
  }
  return messageJsonText(message, binding.method.output);
}

function jsonOptions(message: Message) {
  return isMessage(message, SubscribeSnapshotsResponseSchema) && message.event.case === "snapshot" && isLtpSnapshot(message.event.value)
    ? LTP_JSON_OPTIONS
    : JSON_OPTIONS;
}
