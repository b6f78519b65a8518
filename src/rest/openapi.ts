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
  /** Example values of messages, in proto3 JSON, by fully-qualified type name. Default: none. */
  examples?: ReadonlyMap<string, unknown>;
}

const ERROR_SCHEMA = "ConnectError";
const BEARER_SCHEME = "bearerAuth";
const ERROR_RESPONSE = "Error";

/** The 4xx answers every operation may give, besides its own successes. */
const CLIENT_ERRORS: Readonly<Record<string, string>> = {
  "400": "Invalid input: an unknown query parameter, a malformed path value or body.",
  "401": "A token is needed (the gateway has auth on) and none, or an unknown one, was given.",
  "403": "The token lacks the scope the route needs.",
  "404": "No such symbol.",
  "429": "Past the rate limit; Retry-After says when to try again.",
};

const ERROR_EXAMPLE = { code: "not_found", message: "unknown symbol: 999", details: [] };

/**
 * createOpenApiDocument describes every REST binding as an OpenAPI 3.1
 * document: paths and operations from the google.api.http rules, parameters
 * and bodies from the request messages, schemas that follow proto3 JSON
 * (64-bit integers as strings, enums as names, Timestamp as RFC 3339), and
 * the proto comments as descriptions.
 */
export function createOpenApiDocument(bindings: readonly HttpBinding[], options: OpenApiOptions = {}): Schema {
  const comments = options.comments ?? new Map<string, string>();
  const schemas = new SchemaCollector(comments, options.examples ?? new Map());
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

    const streaming = binding.method.methodKind === "server_streaming";
    const current = currentBinding(binding, bindings);
    const operation: Schema = {
      operationId: count === 0 ? baseId : `${baseId}_${count + 1}`,
      tags: [service.name],
      summary: summaryOf(method.name),
      description: current === undefined ? description : `Legacy path, kept for existing callers; use \`${openApiPath(current.template)}\`.\n\n${description ?? ""}`.trim(),
      deprecated: current === undefined ? undefined : true,
      // A token is needed only when the gateway has auth on; both are listed.
      security: [{ [BEARER_SCHEME]: [] }, {}],
      parameters: [
        ...pathParameters(binding, schemas),
        ...queryParameters(binding, schemas),
        timeoutParameter(),
        ...(streaming ? [lastEventIdParameter()] : []),
      ],
      responses: {
        "200": streaming ? streamResponse(binding, schemas) : unaryResponse(binding, schemas),
        ...(binding.httpMethod === "GET" && !streaming ? { "304": notModifiedResponse() } : {}),
        ...Object.fromEntries(Object.keys(CLIENT_ERRORS).map((status) => [status, { $ref: `#/components/responses/${ERROR_RESPONSE}${status}` }])),
        default: {
          description: "The call failed; the HTTP status follows the gRPC code.",
          content: { "application/json": { schema: ref(ERROR_SCHEMA), example: ERROR_EXAMPLE } },
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
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
      description:
        "REST routes transcoded from the gateway's gRPC API (google.api.http). Bodies are proto3 JSON. " +
        "Server-streaming routes answer with Server-Sent Events when the caller accepts text/event-stream, " +
        'and newline-delimited JSON ({"result": ...} lines) otherwise.',
    },
    // The gateway that serves the document serves the routes.
    servers: [{ url: "/", description: "This gateway" }],
    tags: [...tags].map(([name, description]) => ({ name, description })),
    security: [{ [BEARER_SCHEME]: [] }, {}],
    paths,
    components: {
      schemas: { ...schemas.all(), [ERROR_SCHEMA]: errorSchema() },
      responses: Object.fromEntries(
        Object.entries(CLIENT_ERRORS).map(([status, description]) => [
          `${ERROR_RESPONSE}${status}`,
          { description, content: { "application/json": { schema: ref(ERROR_SCHEMA), example: errorExample(status) } } },
        ]),
      ),
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

/**
 * currentBinding finds the route a legacy binding stands in for: a path
 * outside any version (`/snapshot/{symbol_id}`) bound to the same method and
 * HTTP method as a versioned one (`/v1/snapshots/{symbol_id}`).
 */
function currentBinding(binding: HttpBinding, bindings: readonly HttpBinding[]): HttpBinding | undefined {
  const versioned = (b: HttpBinding) => {
    const first = b.template.segments[0];
    return first?.kind === "literal" && /^v\d+/.test(first.value);
  };
  if (versioned(binding)) return undefined;
  return bindings.find((b) => b !== binding && b.method === binding.method && b.httpMethod === binding.httpMethod && versioned(b));
}

/** summaryOf makes a short summary of a method name: GetBatchSnapshots is "Get batch snapshots". */
function summaryOf(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").split(" ");
  return [words[0], ...words.slice(1).map((w) => (/^[A-Z]{2,}/.test(w) ? w : w.toLowerCase()))].join(" ");
}

function errorExample(status: string): Schema {
  switch (status) {
    case "400":
      return { code: "invalid_argument", message: "unknown query parameter colour", details: [] };
    case "401":
      return { code: "unauthenticated", message: "missing bearer token", details: [] };
    case "403":
      return { code: "permission_denied", message: 'token lacks the "write" scope', details: [] };
    case "429":
      return { code: "resource_exhausted", message: "rate limit of 600 requests per 1 minute reached", details: [] };
    default:
      return ERROR_EXAMPLE;
  }
}

function notModifiedResponse(): Schema {
  return {
    description: "The answer has not changed since the ETag given in If-None-Match.",
    headers: { ETag: { description: "The answer's strong entity tag.", schema: { type: "string" } } },
  };
}

function lastEventIdParameter(): Schema {
  return {
    name: "Last-Event-ID",
    in: "header",
    required: false,
    description:
      "Sent by an EventSource when it reconnects: the id of the last event it received. The stream then sends the " +
      "current snapshot of every symbol except that one, if its sequence has not moved.",
    schema: { type: "string", pattern: "^[0-9]+\\.[0-9]+$" },
    example: "13.412",
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
  const response: Schema = { description: "OK", content: { "application/json": { schema } } };
  if (binding.httpMethod === "GET") {
    response.headers = {
      ETag: { description: "Strong entity tag; a snapshot's is built from its symbol, sequence and time.", schema: { type: "string" } },
      "Cache-Control": { description: "Always no-cache: keep the answer, but revalidate it.", schema: { type: "string" } },
    };
  }
  return response;
}

function streamResponse(binding: HttpBinding, schemas: SchemaCollector): Schema {
  const message = binding.responseBody === undefined ? schemas.message(binding.method.output) : schemas.field(binding.responseBody);
  return {
    description:
      "A stream of messages. With `Accept: text/event-stream`, one Server-Sent Event per message whose data is the " +
      "message in JSON, and a final `error` event if the stream fails. Otherwise one JSON line per message, " +
      '`{"result": message}`, and a final `{"error": ...}` line if the stream fails.',
    content: {
      [STREAM_CONTENT_TYPES.sse.split(";")[0]!]: {
        schema: {
          type: "object",
          description:
            "One Server-Sent Event, as an EventSource hands it over: `data` is the JSON text of the message " +
            "(or, for the `error` event, of the error). The stream's first line is `retry: 1000`; an event on the wire reads " +
            '`id: 13.412` and `data: {"snapshot":{"symbolId":13,"ltp":24352.8,"sequence":"412",...}}`, then a blank line.',
          required: ["data"],
          properties: {
            id: { type: "string", pattern: "^[0-9]+\\.[0-9]+$", description: "<symbol_id>.<sequence> of a snapshot; heartbeats have none." },
            event: { type: "string", enum: ["error"], description: "Absent for messages; `error` for the event that ends a failed stream." },
            data: { oneOf: [message, ref(ERROR_SCHEMA)] },
          },
        },
      },
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
  readonly #examples: ReadonlyMap<string, unknown>;
  readonly #schemas = new Map<string, Schema>();

  constructor(comments: ApiComments, examples: ReadonlyMap<string, unknown>) {
    this.#comments = comments;
    this.#examples = examples;
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
      const example = this.#examples.get(message.typeName);
      if (example !== undefined) schema.examples = [example];
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
