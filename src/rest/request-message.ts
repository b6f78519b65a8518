import {
  create,
  fromJson,
  ScalarType,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
} from "@bufbuild/protobuf";
import { checkProto3JsonNumbers } from "../pipeline/proto3-json.js";
import { isScalarJsonMessage, resolveFieldPath, wrappedScalar, type HttpBinding } from "./http-bindings.js";
import type { PathMatch } from "./path-template.js";

/**
 * RequestInputError reports REST input that cannot become the request
 * message: bad path or query values, unknown parameters, malformed JSON.
 * The transcoder answers it with 400 before any handler runs.
 */
export class RequestInputError extends Error {
  override readonly name = "RequestInputError";
}

/**
 * buildRequestMessage assembles the request message of a binding from the
 * path variables, the query parameters and the JSON body, following
 * google.api.http: the body fills the whole request (`body: "*"`) or one
 * field; path variables fill their fields; every other field may come from
 * the query, by proto or JSON name, dotted for nested fields, repeated
 * parameters for repeated fields. Unknown or misplaced parameters are errors.
 */
export function buildRequestMessage(
  binding: HttpBinding,
  pathValues: PathMatch,
  query: URLSearchParams,
  body: Uint8Array | undefined,
): Message {
  const input = binding.method.input;
  // The common read (GET /v1/snapshots/13): no body, no query, the path
  // naming top-level scalars. Built directly, with no JSON object, no
  // fromJson, and no maps of parameters for every call.
  if (binding.body === undefined && query.size === 0) {
    const direct = directFromPath(binding, pathValues);
    if (direct !== undefined) return direct;
  }
  let json: JsonObject = {};
  if (binding.body === "*") {
    const parsed = parseBody(body);
    if (parsed !== null && (typeof parsed !== "object" || Array.isArray(parsed))) {
      throw new RequestInputError("request body must be a JSON object");
    }
    json = parsed ?? {};
  } else if (binding.body !== undefined) {
    const parsed = parseBody(body);
    if (parsed !== null) json[binding.body.jsonName] = parsed;
  }

  for (const [name, fields] of binding.pathFields) {
    const value = pathValues.get(name)!;
    setJsonPath(json, fields, scalarJson(fields[fields.length - 1]!, value, `path parameter ${name}`));
  }

  // Group by field first: a field may be named by its proto and its JSON name.
  const byField = new Map<string, { key: string; fields: DescField[]; values: string[] }>();
  for (const key of new Set(query.keys())) {
    if (binding.body === "*") {
      throw new RequestInputError(`unknown query parameter ${key}: this route takes its input from the body`);
    }
    const fields = resolveQueryField(input, key);
    const path = fields.map((f) => f.name).join(".");
    if (binding.pathFields.has(path)) throw new RequestInputError(`query parameter ${key} is already set by the path`);
    if (binding.body !== undefined && fields[0] === binding.body) {
      throw new RequestInputError(`query parameter ${key} is set by the request body`);
    }
    const entry = byField.get(path) ?? { key, fields, values: [] };
    entry.values.push(...query.getAll(key));
    byField.set(path, entry);
  }
  for (const { key, fields, values } of byField.values()) {
    const leaf = fields[fields.length - 1]!;
    if (leaf.fieldKind === "list") {
      setJsonPath(json, fields, values.map((v) => listItemJson(leaf, v, `query parameter ${key}`)));
    } else {
      if (values.length > 1) throw new RequestInputError(`query parameter ${key} is given ${values.length} times`);
      setJsonPath(json, fields, scalarJson(leaf, values[0]!, `query parameter ${key}`));
    }
  }

  try {
    // The proto3 JSON rules Connect callers are held to as well (see proto3JsonOptions).
    checkProto3JsonNumbers(input, json);
    return fromJson(input, json);
  } catch (error) {
    throw new RequestInputError((error as Error).message);
  }
}

const CANONICAL_INTEGER = /^-?(0|[1-9]\d*)$/;

// The request of a binding whose path fields are all top-level scalars of
// the types below, or undefined for any other: the same message fromJson
// makes of the same text, and the same errors (scalarText checks first).
function directFromPath(binding: HttpBinding, pathValues: PathMatch): Message | undefined {
  const init: Record<string, unknown> = {};
  for (const [name, fields] of binding.pathFields) {
    if (fields.length !== 1) return undefined;
    const field = fields[0]!;
    if (field.fieldKind !== "scalar") return undefined;
    const text = pathValues.get(name)!;
    const json = scalarText(field.scalar, text, `path parameter ${name}`);
    switch (field.scalar) {
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        // Leading zeros are not proto3 JSON: the general path words that error.
        if (!CANONICAL_INTEGER.test(text)) return undefined;
        // + 0 turns "-0" into 0, as fromJson does.
        init[field.localName] = Number(json) + 0;
        break;
      case ScalarType.STRING:
        init[field.localName] = text;
        break;
      case ScalarType.BOOL:
        init[field.localName] = json;
        break;
      default:
        return undefined;
    }
  }
  return create(binding.method.input, init as never);
}

function parseBody(body: Uint8Array | undefined): JsonValue {
  if (body === undefined || body.byteLength === 0) return null;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) as JsonValue;
  } catch (error) {
    throw new RequestInputError(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

function resolveQueryField(message: DescMessage, key: string): DescField[] {
  const fields = resolveFieldPath(
    message,
    key.split("."),
    () => {
      throw new RequestInputError(`unknown query parameter ${key}`);
    },
    { jsonNames: true },
  );
  if (!isQueryLeaf(fields[fields.length - 1]!)) {
    throw new RequestInputError(`query parameter ${key} names a field that cannot be given in a query`);
  }
  return fields;
}

function isQueryLeaf(field: DescField): boolean {
  if (field.fieldKind === "scalar" || field.fieldKind === "enum" || isScalarJsonMessage(field)) return true;
  return field.fieldKind === "list" && field.listKind !== "message";
}

function setJsonPath(json: JsonObject, fields: readonly DescField[], value: JsonValue): void {
  let node = json;
  for (let i = 0; i < fields.length - 1; i++) {
    const key = fields[i]!.jsonName;
    const next = node[key];
    if (next === undefined || next === null || typeof next !== "object" || Array.isArray(next)) {
      const created: JsonObject = {};
      node[key] = created;
      node = created;
    } else node = next;
  }
  node[fields[fields.length - 1]!.jsonName] = value;
}

function listItemJson(field: DescField & { fieldKind: "list" }, text: string, where: string): JsonValue {
  if (field.listKind === "scalar") return scalarText(field.scalar, text, where);
  if (field.listKind === "enum") return enumText(text);
  return text;
}

/**
 * scalarJson turns the text of a path or query value into the proto3 JSON
 * value of a field, rejecting malformed numbers and booleans with a clear
 * message rather than fromJson's.
 */
function scalarJson(field: DescField, text: string, where: string): JsonValue {
  if (field.fieldKind === "scalar") return scalarText(field.scalar, text, where);
  if (field.fieldKind === "enum") return enumText(text);
  if (field.fieldKind === "message") {
    // Wrappers take their scalar's JSON; Timestamp, Duration and FieldMask a string.
    const wrapped = wrappedScalar(field);
    if (wrapped !== undefined) return scalarText(wrapped.scalar, text, where);
    try {
      fromJson(field.message, text);
    } catch (error) {
      throw new RequestInputError(`${where}: ${(error as Error).message}`);
    }
  }
  return text;
}

function enumText(text: string): JsonValue {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

const INTEGER_RANGES: Partial<Record<ScalarType, [string, bigint, bigint]>> = {
  [ScalarType.INT32]: ["int32", -(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SINT32]: ["int32", -(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SFIXED32]: ["int32", -(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.UINT32]: ["uint32", 0n, 2n ** 32n - 1n],
  [ScalarType.FIXED32]: ["uint32", 0n, 2n ** 32n - 1n],
  [ScalarType.INT64]: ["int64", -(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SINT64]: ["int64", -(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SFIXED64]: ["int64", -(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.UINT64]: ["uint64", 0n, 2n ** 64n - 1n],
  [ScalarType.FIXED64]: ["uint64", 0n, 2n ** 64n - 1n],
};

function scalarText(type: ScalarType, text: string, where: string): JsonValue {
  const range = INTEGER_RANGES[type];
  if (range !== undefined) {
    const [name, min, max] = range;
    if (!/^-?\d{1,20}$/.test(text)) throw new RequestInputError(`${where}: "${shorten(text)}" is not a ${name}`);
    const value = BigInt(text);
    if (value < min || value > max) throw new RequestInputError(`${where}: ${text} is out of range for ${name}`);
    return text;
  }
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (text === "NaN" || text === "Infinity" || text === "-Infinity") return text;
      if (text.trim() === "" || !Number.isFinite(Number(text))) {
        throw new RequestInputError(`${where}: "${shorten(text)}" is not a number`);
      }
      return Number(text);
    case ScalarType.BOOL:
      if (text === "true") return true;
      if (text === "false") return false;
      throw new RequestInputError(`${where}: "${shorten(text)}" is not true or false`);
    default:
      return text;
  }
}

function shorten(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
