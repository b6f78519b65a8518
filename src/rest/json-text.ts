import { toJson, type DescMessage, type JsonObject, type Message } from "@bufbuild/protobuf";
import type { HttpBinding } from "./http-bindings.js";

// Every field present: REST callers should not have to know proto3's defaults.
const JSON_OPTIONS = { alwaysEmitImplicit: true } as const;

// Keyed by the message object: an update fanned out to many streams is one
// frozen object, so it is written as JSON once, not once per stream.
const texts = new WeakMap<object, string>();

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
  return messageJsonText(binding.method.output, message);
}

function messageJsonText(schema: DescMessage, message: Message): string {
  if (!Object.isFrozen(message)) return JSON.stringify(toJson(schema, message, JSON_OPTIONS));
  let text = texts.get(message);
  if (text === undefined) {
    text = JSON.stringify(toJson(schema, message, JSON_OPTIONS));
    texts.set(message, text);
  }
  return text;
}
