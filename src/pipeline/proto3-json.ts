import { ScalarType, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";

/**
 * Proto3JsonOptions are the JSON options every lane and route reads request
 * messages with: what protobuf-es's `fromJson` takes, plus Connect's hook for
 * turning a body into text, which checks the body's numbers on the way.
 */
export interface Proto3JsonOptions {
  readonly ignoreUnknownFields: false;
  readonly textDecoder: { decode(input?: Uint8Array): string };
}

/**
 * proto3JsonOptions returns the options that read `schema` from JSON by the
 * proto3 JSON rules, the same for Connect and REST callers: an unknown field
 * is an error (as `fromJson` has it by default, where Connect ignores them),
 * and a number given as a string must be written as a JSON number is, so
 * `"0x0d"`, `"+13"` or `" 13"` is an error rather than 13.
 */
export function proto3JsonOptions(schema: DescMessage): Proto3JsonOptions {
  const utf8 = new TextDecoder();
  return {
    ignoreUnknownFields: false,
    textDecoder: {
      decode(input) {
        const text = utf8.decode(input);
        let json: JsonValue;
        try {
          json = JSON.parse(text) as JsonValue;
        } catch {
          // Not JSON at all: the reader that follows says so in its own words.
          return text;
        }
        checkProto3JsonNumbers(schema, json);
        return text;
      },
    },
  };
}

// A JSON number's grammar (RFC 8259), which proto3 JSON asks of a number in a string too.
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const FLOAT_WORDS = new Set(["NaN", "Infinity", "-Infinity"]);

const INTEGER_TYPES = new Set([
  ScalarType.INT32,
  ScalarType.SINT32,
  ScalarType.SFIXED32,
  ScalarType.UINT32,
  ScalarType.FIXED32,
  ScalarType.INT64,
  ScalarType.SINT64,
  ScalarType.SFIXED64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
]);

// Wrappers are written in JSON as the scalar they wrap.
const WRAPPERS: Readonly<Record<string, ScalarType>> = {
  "google.protobuf.DoubleValue": ScalarType.DOUBLE,
  "google.protobuf.FloatValue": ScalarType.FLOAT,
  "google.protobuf.Int64Value": ScalarType.INT64,
  "google.protobuf.UInt64Value": ScalarType.UINT64,
  "google.protobuf.Int32Value": ScalarType.INT32,
  "google.protobuf.UInt32Value": ScalarType.UINT32,
};

const fieldsByKey = new WeakMap<DescMessage, Map<string, DescField>>();

/**
 * checkProto3JsonNumbers throws when a JSON request for `schema` writes a
 * number as a string that proto3 JSON does not allow: anything but a JSON
 * number's digits (and, for floating-point fields, "NaN", "Infinity" or
 * "-Infinity"). The message names the field. Everything else is left to
 * `fromJson`, which reads the same JSON next.
 */
export function checkProto3JsonNumbers(schema: DescMessage, json: JsonValue): void {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return;
  const fields = fieldsOf(schema);
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    if (field === undefined || value === null) continue;
    switch (field.fieldKind) {
      case "scalar":
        checkScalar(field, field.scalar, value);
        break;
      case "list":
        if (!Array.isArray(value)) break;
        for (const item of value) {
          if (field.listKind === "scalar") checkScalar(field, field.scalar, item);
          else if (field.listKind === "message") checkMessage(field, field.message, item);
        }
        break;
      case "map":
        if (typeof value !== "object" || Array.isArray(value)) break;
        for (const [mapKey, item] of Object.entries(value)) {
          if (INTEGER_TYPES.has(field.mapKey)) checkScalar(field, field.mapKey, mapKey);
          if (field.mapKind === "scalar") checkScalar(field, field.scalar, item);
          else if (field.mapKind === "message") checkMessage(field, field.message, item);
        }
        break;
      case "message":
        checkMessage(field, field.message, value);
        break;
    }
  }
}

function checkMessage(field: DescField, message: DescMessage, value: JsonValue): void {
  const wrapped = WRAPPERS[message.typeName];
  if (wrapped !== undefined) checkScalar(field, wrapped, value);
  // Other well-known types have JSON forms of their own, which fromJson checks.
  else if (!message.typeName.startsWith("google.protobuf.")) checkProto3JsonNumbers(message, value);
}

function checkScalar(field: DescField, type: ScalarType, value: JsonValue): void {
  if (typeof value !== "string") return;
  const integer = INTEGER_TYPES.has(type);
  const float = type === ScalarType.DOUBLE || type === ScalarType.FLOAT;
  if (!integer && !float) return;
  if (JSON_NUMBER.test(value) || (float && FLOAT_WORDS.has(value))) return;
  throw new Error(
    `cannot decode field ${field.parent.typeName}.${field.name} from JSON: ${JSON.stringify(value)} is not a number as proto3 JSON writes one`,
  );
}

function fieldsOf(schema: DescMessage): Map<string, DescField> {
  let fields = fieldsByKey.get(schema);
  if (fields === undefined) {
    // fromJson takes a field by its JSON name or its proto name.
    fields = new Map();
    for (const field of schema.fields) {
      fields.set(field.jsonName, field);
      fields.set(field.name, field);
    }
    fieldsByKey.set(schema, fields);
  }
  return fields;
}
