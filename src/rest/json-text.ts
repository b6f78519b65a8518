import { toJson, type DescMessage, type JsonObject, type Message } from "@bufbuild/protobuf";
import { identityCache } from "../pipeline/identity-cache.js";
import type { HttpBinding } from "./http-bindings.js";

// Every field present: REST callers should not have to know proto3's defaults.
const JSON_OPTIONS = { alwaysEmitImplicit: true } as const;

// Keyed by the message object: an update fanned out to many streams is one
// frozen object, so it is written as JSON once, not once per stream.
const messageJsonText = identityCache(
  (message: Message, schema: DescMessage) => JSON.stringify(toJson(schema, message, JSON_OPTIONS)),
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
  if (binding.responseBody !== undefined) {
    const json = toJson(binding.method.output, message, JSON_OPTIONS) as JsonObject;
    return JSON.stringify(json[binding.responseBody.jsonName] ?? null);
  }
  return messageJsonText(message, binding.method.output);
}
