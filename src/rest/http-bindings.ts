import { getOption, hasOption, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import type { MethodImplSpec } from "@connectrpc/connect";
import { createServiceImplSpec } from "@connectrpc/connect";
import { http } from "../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../gen/google/api/http_pb.js";
import type { ServiceRegistration } from "../pipeline/service-registry.js";
import { parsePathTemplate, type PathTemplate } from "./path-template.js";

/**
 * HttpBinding is one REST route of one RPC: an HTTP method and path
 * template, where the request body goes and what the response body is,
 * from a google.api.http rule or one of its additional_bindings.
 */
export interface HttpBinding {
  /** Upper-case HTTP method. */
  readonly httpMethod: string;
  readonly template: PathTemplate;
  readonly method: DescMethod;
  readonly spec: MethodImplSpec;
  /** Request fields bound to path variables, by dotted path. */
  readonly pathFields: ReadonlyMap<string, DescField[]>;
  /** "*" for the whole request, a top-level field name, or undefined for no body. */
  readonly body: "*" | DescField | undefined;
  /** The response field sent as the body, or undefined for the whole response. */
  readonly responseBody: DescField | undefined;
}

/**
 * HttpBindingError reports a google.api.http rule that cannot be served
 * (bad template, unknown field, streaming kind REST cannot carry).
 */
export class HttpBindingError extends Error {
  override readonly name = "HttpBindingError";
}

/**
 * collectHttpBindings reads the google.api.http rules of every method of
 * every registration and resolves them against the request and response
 * messages. Methods without a rule get no REST route; client and
 * bidirectional streaming methods cannot be carried by one HTTP request and
 * response body, so a rule on them is an error.
 */
export function collectHttpBindings(registrations: readonly ServiceRegistration[]): HttpBinding[] {
  const bindings: HttpBinding[] = [];
  for (const { service, implementation } of registrations) {
    const specs = createServiceImplSpec(service, implementation).methods;
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        throw new HttpBindingError(`${method.parent.typeName}.${method.name}: REST cannot carry ${method.methodKind} calls`);
      }
      const rule = getOption(method, http);
      const spec = specs[method.localName]!;
      bindings.push(bindingOf(rule, method, spec));
      for (const extra of rule.additionalBindings) bindings.push(bindingOf(extra, method, spec));
    }
  }
  return bindings;
}

function bindingOf(rule: HttpRule, method: DescMethod, spec: MethodImplSpec): HttpBinding {
  const where = `${method.parent.typeName}.${method.name}`;
  const fail = (why: string): never => {
    throw new HttpBindingError(`${where}: ${why}`);
  };
  const pattern = rule.pattern;
  let httpMethod: string;
  let path: string;
  switch (pattern.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      httpMethod = pattern.case.toUpperCase();
      path = pattern.value;
      break;
    case "custom":
      httpMethod = pattern.value.kind.toUpperCase();
      path = pattern.value.path;
      break;
    default:
      return fail("google.api.http rule has no pattern");
  }
  let template: PathTemplate;
  try {
    template = parsePathTemplate(path);
  } catch (error) {
    return fail((error as Error).message);
  }

  const pathFields = new Map<string, DescField[]>();
  for (const variable of template.variables) {
    const fields = resolveFieldPath(method.input, variable.fieldPath, fail);
    const leaf = fields[fields.length - 1]!;
    if (leaf.fieldKind !== "scalar" && leaf.fieldKind !== "enum" && !isScalarJsonMessage(leaf)) {
      fail(`path variable ${variable.fieldPath.join(".")} must be a scalar field`);
    }
    pathFields.set(variable.fieldPath.join("."), fields);
  }

  let body: HttpBinding["body"];
  if (rule.body === "*") body = "*";
  else if (rule.body !== "") {
    body = method.input.fields.find((f) => f.name === rule.body) ?? fail(`body field ${rule.body} does not exist`);
  }
  if (body !== undefined && method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
    fail("a body needs a unary or server-streaming method");
  }
  let responseBody: DescField | undefined;
  if (rule.responseBody !== "") {
    responseBody =
      method.output.fields.find((f) => f.name === rule.responseBody) ??
      fail(`response_body field ${rule.responseBody} does not exist`);
  }
  return { httpMethod, template, method, spec, pathFields, body, responseBody };
}

/**
 * FieldPathOptions say how a field path names its fields.
 */
export interface FieldPathOptions {
  /** Accept each field's JSON name as well as its proto name. Default false: proto names only. */
  jsonNames?: boolean;
}

/**
 * resolveFieldPath walks a dotted field path and returns the fields along
 * the way. Every field but the last must be a singular message field whose
 * JSON form is an object: a wrapper, Timestamp, Duration or FieldMask is a
 * single JSON value, so a path may end at one but never go through it.
 * Path variables and query parameters both resolve here, by the same rule.
 */
export function resolveFieldPath(
  message: DescMessage,
  path: readonly string[],
  fail: (why: string) => never,
  options: FieldPathOptions = {},
): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const name of path) {
    if (current === undefined) return fail(`${path.join(".")} goes through a field that is not a message`);
    const field: DescField | undefined = current.fields.find((f) => f.name === name || (options.jsonNames === true && f.jsonName === name));
    if (field === undefined) return fail(`${current.typeName} has no field ${name}`);
    fields.push(field);
    current = field.fieldKind === "message" && !isScalarJsonMessage(field) ? field.message : undefined;
  }
  return fields;
}

/** Wrapper types: their proto3 JSON form is that of the one scalar they wrap. */
const WRAPPER_MESSAGES = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

/** Well-known types whose proto3 JSON form is a single string or number. */
const SCALAR_JSON_MESSAGES = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  ...WRAPPER_MESSAGES,
]);

/**
 * isScalarJsonMessage tells a singular message field whose proto3 JSON form
 * is a scalar (Timestamp, Duration, FieldMask, wrappers), so it can be
 * given in a path or a query parameter.
 */
export function isScalarJsonMessage(field: DescField): boolean {
  return field.fieldKind === "message" && SCALAR_JSON_MESSAGES.has(field.message.typeName);
}

/**
 * wrappedScalar gives the scalar field a wrapper-typed field wraps, or
 * undefined for any other field.
 */
export function wrappedScalar(field: DescField): (DescField & { fieldKind: "scalar" }) | undefined {
  if (field.fieldKind !== "message" || !WRAPPER_MESSAGES.has(field.message.typeName)) return undefined;
  const wrapped = field.message.fields[0];
  return wrapped?.fieldKind === "scalar" ? wrapped : undefined;
}
