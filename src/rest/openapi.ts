import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { ApiComments } from "./api-comments.js";
import { isScalarJsonMessage, type HttpBinding } from "./http-bindings.js";
import type { PathTemplate } from "./path-template.js";
import { HTTP_STATUS_BY_CODE } from "../pipeline/http-errors.js";
import { STREAM_CONTENT_TYPES } from "./stream-response.js";
import { TIMEOUT_HEADER } from "./rest-call-context.js";

/** Schema is a JSON Schema (2020-12, as OpenAPI 3.1 uses) or a $ref. */
type Schema = { [key: string]: unknown };

/**
 * OpenApiOptions describe the API as a whole.
 */
export interface OpenApiOptions {
  /** Document title. Default "Stockify Gateway REST API". */
  title?: string;
  /** API version. Default "v1". */
  version?: string;
  /** Proto comments used as descriptions. Default: none. */
  comments?: ApiComments;
}

const ERROR_SCHEMA = "ConnectError";
const BEARER_SCHEME = "bearerAuth";

/**
 * createOpenApiDocument describes every REST binding as an OpenAPI 3.1
 * document: paths and operations from the google.api.http rules, parameters
 * and bodies from the request messages, schemas that follow proto3 JSON
 * (64-bit integers as strings, enums as names, Timestamp as RFC 3339), and
 * the proto comments as descriptions.
 */
export function createOpenApiDocument(bindings: readonly HttpBinding[], options: OpenApiOptions = {}): Schema {
  const comments = options.comments ?? new Map<string, string>();
  const schemas = new SchemaCollector(comments);
  const paths: Record<string, Record<string, Schema>> = {};
  const seen = new Map<string, number>();
  const tags = new Map<string, string | undefined>();

  for (const binding of bindings) {
    const { method } = binding;
    const service = method.parent;
    tags.set(service.name, comments.get(service.typeName));
    const baseId = `${service.name}_${method.name}`;
    const count = seen.get(baseId) ?? 0;
    seen.set(baseId, count + 1);
    const description = comments.get(`${service.typeName}.${method.name}`);

    const operation: Schema = {
      operationId: count === 0 ? baseId : `${baseId}_${count + 1}`,
      tags: [service.name],
      summary: description?.replace(/\s+/g, " ").split(/(?<=\.) /)[0] ?? method.name,
      description,
      parameters: [...pathParameters(binding, schemas), ...queryParameters(binding, schemas), timeoutParameter()],
      responses: {
        "200": binding.method.methodKind === "server_streaming" ? streamResponse(binding, schemas) : unaryResponse(binding, schemas),
        default: {
          description: "The call failed; the HTTP status follows the gRPC code.",
          content: { "application/json": { schema: ref(ERROR_SCHEMA) } },
        },
      },
    };
    if (binding.body !== undefined) {
      const schema = binding.body === "*" ? schemas.message(method.input) : schemas.field(binding.body);
      operation.requestBody = { required: true, content: { "application/json": { schema } } };
    }
    const path = openApiPath(binding.template);
    paths[path] ??= {};
    paths[path][binding.httpMethod.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: options.title ?? "Stockify Gateway REST API",
      version: options.version ?? "v1",
      description:
        "REST routes transcoded from the gateway's gRPC API (google.api.http). Bodies are proto3 JSON. " +
        "Server-streaming routes answer with Server-Sent Events when the caller accepts text/event-stream, " +
        'and newline-delimited JSON ({"result": ...} lines) otherwise.',
    },
    tags: [...tags].map(([name, description]) => ({ name, description })),
    // A token is needed only when the gateway has auth on; both are listed.
    security: [{ [BEARER_SCHEME]: [] }, {}],
    paths,
    components: {
      schemas: { ...schemas.all(), [ERROR_SCHEMA]: errorSchema() },
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: "http",
          scheme: "bearer",
          description: "A gateway token (AUTH_TOKENS); a missing or unknown one is 401, one without the scope 403.",
        },
      },
    },
  };
}

/** openApiPath writes a template as an OpenAPI path: one `{name}` per variable, `*` and `**` outside variables as `{_N}`. */
function openApiPath(template: PathTemplate): string {
  const parts: string[] = [];
  let wildcard = 0;
  for (let i = 0; i < template.segments.length; i++) {
    const variable = template.variables.find((v) => v.start === i);
    if (variable !== undefined) {
      parts.push(`{${variable.fieldPath.join(".")}}`);
      i = variable.end - 1;
      continue;
    }
    const segment = template.segments[i]!;
    parts.push(segment.kind === "literal" ? segment.value : `{_${wildcard++}}`);
  }
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}

function pathParameters(binding: HttpBinding, schemas: SchemaCollector): Schema[] {
  const parameters: Schema[] = [];
  for (const variable of binding.template.variables) {
    const name = variable.fieldPath.join(".");
    const fields = binding.pathFields.get(name)!;
    const leaf = fields[fields.length - 1]!;
    const multi = variable.end - variable.start > 1 || binding.template.segments[variable.start]?.kind === "multi";
    parameters.push({
      name,
      in: "path",
      required: true,
      description: schemas.describe(leaf) ?? (multi ? "May span several path segments." : undefined),
      schema: schemas.field(leaf),
    });
  }
  binding.template.segments.forEach((segment, i) => {
    if (segment.kind === "literal" || binding.template.variables.some((v) => i >= v.start && i < v.end)) return;
    parameters.push({ name: `_${parameters.length}`, in: "path", required: true, schema: { type: "string" } });
  });
  return parameters;
}

function queryParameters(binding: HttpBinding, schemas: SchemaCollector): Schema[] {
  if (binding.body === "*") return [];
  const parameters: Schema[] = [];
  const visit = (message: DescMessage, prefix: string, depth: number, seen: ReadonlySet<string>) => {
    for (const field of message.fields) {
      const name = `${prefix}${field.name}`;
      if (binding.pathFields.has(name)) continue;
      if (prefix === "" && binding.body !== undefined && binding.body !== "*" && field === binding.body) continue;
      if (field.fieldKind === "message" && !isScalarJsonMessage(field)) {
        // Nested fields by dotted names; recursive messages stop after one round.
        if (depth < 4 && !seen.has(field.message.typeName)) {
          visit(field.message, `${name}.`, depth + 1, new Set([...seen, field.message.typeName]));
        }
        continue;
      }
      if (field.fieldKind === "map" || (field.fieldKind === "list" && field.listKind === "message")) continue;
      const parameter: Schema = { name, in: "query", required: false, description: schemas.describe(field), schema: schemas.field(field) };
      if (field.fieldKind === "list") {
        parameter.style = "form";
        parameter.explode = true;
      }
      parameters.push(parameter);
    }
  };
  visit(binding.method.input, "", 0, new Set([binding.method.input.typeName]));
  return parameters;
}

function timeoutParameter(): Schema {
  return {
    name: TIMEOUT_HEADER,
    in: "header",
    required: false,
    description: "Deadline of the call in milliseconds; past it the call fails with 504.",
    schema: { type: "integer", minimum: 1 },
  };
}

function unaryResponse(binding: HttpBinding, schemas: SchemaCollector): Schema {
  const schema = binding.responseBody === undefined ? schemas.message(binding.method.output) : schemas.field(binding.responseBody);
  return { description: "OK", content: { "application/json": { schema } } };
}

function streamResponse(binding: HttpBinding, schemas: SchemaCollector): Schema {
  const message = binding.responseBody === undefined ? schemas.message(binding.method.output) : schemas.field(binding.responseBody);
  return {
    description:
      "A stream of messages. With `Accept: text/event-stream`, one Server-Sent Event per message whose data is the " +
      "message in JSON, and a final `error` event if the stream fails. Otherwise one JSON line per message, " +
      '`{"result": message}`, and a final `{"error": ...}` line if the stream fails.',
    content: {
      [STREAM_CONTENT_TYPES.sse.split(";")[0]!]: { schema: { type: "string", description: "Server-Sent Events" } },
      [STREAM_CONTENT_TYPES.ndjson.split(";")[0]!]: {
        schema: {
          type: "object",
          description: "One line of the stream.",
          properties: { result: message, error: ref(ERROR_SCHEMA) },
        },
      },
    },
  };
}

function errorSchema(): Schema {
  const codes = Object.keys(HTTP_STATUS_BY_CODE).map((code) => snake(Code[Number(code)]!));
  return {
    type: "object",
    description:
      "The error of a failed call, as Connect writes it. The HTTP status follows the gRPC code: " +
      Object.entries(HTTP_STATUS_BY_CODE)
        .map(([code, status]) => `${snake(Code[Number(code)]!)} ${status}`)
        .join(", ") +
      ".",
    required: ["code", "message"],
    properties: {
      code: { type: "string", enum: codes, description: "The gRPC status code, in lower_snake_case." },
      message: { type: "string", description: "What went wrong, for people." },
      details: {
        type: "array",
        description: "Error details: protobuf messages, base64-encoded.",
        items: {
          type: "object",
          properties: {
            type: { type: "string", description: "Fully-qualified protobuf message name." },
            value: { type: "string", contentEncoding: "base64" },
            debug: { description: "The detail in JSON, when the server knows its type." },
          },
        },
      },
    },
  };
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

function ref(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/**
 * SchemaCollector turns messages and enums into component schemas (each
 * once, recursion through $ref) and fields into proto3 JSON schemas.
 */
class SchemaCollector {
  readonly #comments: ApiComments;
  readonly #schemas = new Map<string, Schema>();

  constructor(comments: ApiComments) {
    this.#comments = comments;
  }

  all(): Record<string, Schema> {
    return Object.fromEntries([...this.#schemas].sort(([a], [b]) => a.localeCompare(b)));
  }

  describe(field: DescField): string | undefined {
    return this.#comments.get(`${field.parent.typeName}.${field.name}`);
  }

  message(message: DescMessage): Schema {
    const wkt = wellKnownSchema(message.typeName);
    if (wkt !== undefined) return wkt;
    if (!this.#schemas.has(message.typeName)) {
      const schema: Schema = { type: "object", description: this.#comments.get(message.typeName) };
      // Claim the name before filling it, so recursive messages terminate.
      this.#schemas.set(message.typeName, schema);
      const properties: Record<string, Schema> = {};
      for (const field of message.fields) {
        properties[field.jsonName] = { ...this.field(field), description: this.describe(field) };
      }
      schema.properties = properties;
      const oneofs = message.oneofs.map((o) => o.fields.map((f) => f.jsonName));
      if (oneofs.length > 0) {
        schema.description = [schema.description, ...oneofs.map((names) => `At most one of ${names.join(", ")} is set.`)]
          .filter(Boolean)
          .join("\n\n");
      }
    }
    return ref(message.typeName);
  }

  enumeration(desc: DescEnum): Schema {
    if (!this.#schemas.has(desc.typeName)) {
      this.#schemas.set(desc.typeName, {
        type: "string",
        enum: desc.values.map((v) => v.name),
        description: this.#comments.get(desc.typeName),
      });
    }
    return ref(desc.typeName);
  }

  field(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumeration(field.enum);
      case "message":
        return this.message(field.message);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.listKind === "enum"
                ? this.enumeration(field.enum)
                : this.message(field.message),
        };
      case "map":
        return {
          type: "object",
          propertyNames: mapKeySchema(field.mapKey),
          additionalProperties:
            field.mapKind === "scalar"
              ? scalarSchema(field.scalar)
              : field.mapKind === "enum"
                ? this.enumeration(field.enum)
                : this.message(field.message),
        };
    }
  }
}

function scalarSchema(type: ScalarType): Schema {
  switch (type) {
    case ScalarType.DOUBLE:
      return { type: "number", format: "double" };
    case ScalarType.FLOAT:
      return { type: "number", format: "float" };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: "integer", format: "int32" };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: "integer", format: "uint32", minimum: 0, maximum: 4294967295 };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: "string", format: "uint64", pattern: "^[0-9]+$" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
  }
}

function mapKeySchema(type: ScalarType): Schema {
  if (type === ScalarType.STRING) return { type: "string" };
  if (type === ScalarType.BOOL) return { enum: ["true", "false"] };
  return { pattern: type === ScalarType.UINT32 || type === ScalarType.UINT64 || type === ScalarType.FIXED32 || type === ScalarType.FIXED64 ? "^[0-9]+$" : "^-?[0-9]+$" };
}

function wellKnownSchema(typeName: string): Schema | undefined {
  const nullable = (schema: Schema): Schema => ({ ...schema, type: [schema.type, "null"] });
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time", description: "RFC 3339 time in UTC, e.g. 2026-01-02T09:15:00.250Z." };
    case "google.protobuf.Duration":
      return { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: "Seconds with an s suffix, e.g. 1.5s." };
    case "google.protobuf.FieldMask":
      return { type: "string", description: "Comma-separated lowerCamelCase field paths." };
    case "google.protobuf.Empty":
      return { type: "object" };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return {};
    case "google.protobuf.ListValue":
      return { type: "array" };
    case "google.protobuf.Any":
      return { type: "object", required: ["@type"], properties: { "@type": { type: "string" } }, additionalProperties: true };
    case "google.protobuf.DoubleValue":
    case "google.protobuf.FloatValue":
      return nullable({ type: "number" });
    case "google.protobuf.Int32Value":
    case "google.protobuf.UInt32Value":
      return nullable({ type: "integer" });
    case "google.protobuf.Int64Value":
    case "google.protobuf.UInt64Value":
    case "google.protobuf.StringValue":
      return nullable({ type: "string" });
    case "google.protobuf.BytesValue":
      return { type: ["string", "null"], contentEncoding: "base64" };
    case "google.protobuf.BoolValue":
      return nullable({ type: "boolean" });
    default:
      return undefined;
  }
}
