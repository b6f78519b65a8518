/**
 * PathSegment is one segment of a parsed google.api.http path template: a
 * literal, `*` (exactly one segment) or `**` (zero or more segments).
 */
export type PathSegment =
  | { readonly kind: "literal"; readonly value: string }
  | { readonly kind: "single" }
  | { readonly kind: "multi" };

/**
 * PathVariable binds the request path segments from `start` (inclusive) to
 * `end` (exclusive) to a request field, named by its dotted field path.
 */
export interface PathVariable {
  readonly fieldPath: readonly string[];
  readonly start: number;
  readonly end: number;
}

/**
 * PathTemplate is a parsed google.api.http path template such as
 * `/v1/{name=shelves/*}/books/{book}:publish`.
 */
export interface PathTemplate {
  /** The template as written in the proto. */
  readonly source: string;
  readonly segments: readonly PathSegment[];
  readonly variables: readonly PathVariable[];
  /** Custom verb after the last segment (`publish` above), if any. */
  readonly verb: string | undefined;
}

/**
 * PathTemplateError reports a template that does not follow the
 * google.api.http grammar.
 */
export class PathTemplateError extends Error {
  override readonly name = "PathTemplateError";
}

/**
 * PathValueError reports a request path that matches a template but cannot
 * be decoded (malformed percent-encoding).
 */
export class PathValueError extends Error {
  override readonly name = "PathValueError";
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * parsePathTemplate parses a template following the google.api.http grammar:
 *
 *     Template = "/" Segments [ Verb ] ;
 *     Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;
 *     Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *     Verb     = ":" LITERAL ;
 *
 * `**` may only be the last segment; variables do not nest.
 */
export function parsePathTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(`invalid path template "${source}": ${why}`);
  };
  if (!source.startsWith("/")) fail("it must start with /");

  // The verb is a ":" after the last "/" that is outside braces.
  let depth = 0;
  let lastSlash = -1;
  let verbColon = -1;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (depth === 0 && c === "/") {
      lastSlash = i;
      verbColon = -1;
    } else if (depth === 0 && c === ":" && verbColon === -1 && i > lastSlash) verbColon = i;
    if (depth < 0 || depth > 1) fail("unbalanced or nested braces");
  }
  if (depth !== 0) fail("unbalanced braces");
  let verb: string | undefined;
  let body = source.slice(1);
  if (verbColon !== -1) {
    verb = source.slice(verbColon + 1);
    body = source.slice(1, verbColon);
    if (verb === "" || /[/{}*]/.test(verb)) fail("the verb after : must be a literal");
  }

  const segments: PathSegment[] = [];
  const variables: PathVariable[] = [];
  const parts = splitOutsideBraces(body);
  for (const part of parts) {
    if (part.startsWith("{")) {
      if (!part.endsWith("}")) fail(`"${part}" mixes a variable with a literal in one segment`);
      const inner = part.slice(1, -1);
      const eq = inner.indexOf("=");
      const name = eq === -1 ? inner : inner.slice(0, eq);
      const fieldPath = name.split(".");
      if (!fieldPath.every((p) => IDENT.test(p))) fail(`"${name}" is not a field path`);
      const start = segments.length;
      if (eq === -1) segments.push({ kind: "single" });
      else {
        const pattern = inner.slice(eq + 1);
        if (pattern === "") fail(`variable ${name} has an empty pattern`);
        for (const sub of pattern.split("/")) segments.push(plainSegment(sub, fail));
      }
      if (variables.some((v) => v.fieldPath.join(".") === name)) fail(`variable ${name} appears twice`);
      variables.push({ fieldPath, start, end: segments.length });
    } else {
      segments.push(plainSegment(part, fail));
    }
  }
  const deep = segments.findIndex((s) => s.kind === "multi");
  if (deep !== -1 && deep !== segments.length - 1) fail("** must be the last segment");
  return { source, segments, variables, verb };
}

function splitOutsideBraces(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "/" && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(body.slice(from));
  return parts;
}

function plainSegment(text: string, fail: (why: string) => never): PathSegment {
  if (text === "*") return { kind: "single" };
  if (text === "**") return { kind: "multi" };
  if (text === "") fail("empty segment");
  if (/[{}*=]/.test(text)) fail(`"${text}" is not a literal segment`);
  return { kind: "literal", value: text };
}

/**
 * PathMatch holds the decoded values of a template's variables, by dotted
 * field path.
 */
export type PathMatch = Map<string, string>;

/**
 * matchPathTemplate matches a raw (still percent-encoded) request path
 * without its query string; it returns undefined when the path does not
 * fit the template. Single-segment variables are fully percent-decoded;
 * multi-segment ones keep `%2F` so that their own slashes stay apart, as
 * google.api.http specifies. Throws PathValueError for bad escapes.
 */
export function matchPathTemplate(template: PathTemplate, rawPath: string): PathMatch | undefined {
  if (!rawPath.startsWith("/")) return undefined;
  let path = rawPath.slice(1);
  if (template.verb !== undefined) {
    const suffix = `:${template.verb}`;
    if (!path.endsWith(suffix)) return undefined;
    path = path.slice(0, -suffix.length);
  }
  const raw = path.split("/");
  const { segments } = template;
  const deep = segments.length > 0 && segments[segments.length - 1]!.kind === "multi";
  if (deep ? raw.length < segments.length - 1 : raw.length !== segments.length) return undefined;
  // A trailing "**" may match zero segments, leaving one empty piece.
  if (deep && raw.length === 1 && raw[0] === "" && segments.length === 1) raw.length = 0;

  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.kind === "multi") break;
    const piece = raw[i]!;
    if (piece === "") return undefined;
    if (segment.kind === "literal" && decodeSegment(piece) !== segment.value) return undefined;
  }

  const match: PathMatch = new Map();
  for (const variable of template.variables) {
    const endsDeep = variable.end === segments.length && deep;
    const pieces = raw.slice(variable.start, endsDeep ? raw.length : variable.end);
    const single = pieces.length === 1 && variable.end - variable.start === 1 && !endsDeep;
    match.set(
      variable.fieldPath.join("."),
      single ? decodeSegment(pieces[0]!) : pieces.map(decodeKeepingSlashes).join("/"),
    );
  }
  return match;
}

function decodeSegment(piece: string): string {
  if (!piece.includes("%")) return piece;
  try {
    return decodeURIComponent(piece);
  } catch {
    throw new PathValueError(`path segment "${piece}" has malformed percent-encoding`);
  }
}

function decodeKeepingSlashes(piece: string): string {
  return piece
    .split(/%2F/i)
    .map(decodeSegment)
    .join("%2F");
}

/**
 * compareTemplates orders templates most specific first: at the first
 * differing segment a literal beats `*`, which beats `**`; a verb beats
 * none. Used to pick one binding when several match a path.
 */
export function compareTemplates(a: PathTemplate, b: PathTemplate): number {
  const rank = (s: PathSegment | undefined) => (s === undefined ? 3 : s.kind === "literal" ? 0 : s.kind === "single" ? 1 : 2);
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const diff = rank(a.segments[i]) - rank(b.segments[i]);
    if (diff !== 0) return diff;
  }
  return (a.verb === undefined ? 1 : 0) - (b.verb === undefined ? 1 : 0);
}

/**
 * fastifyRoutePaths turns a template into the find-my-way paths that carry
 * it: the template's leading literal segments, then a wildcard when it has
 * variables, and the bare prefix too when a `**` right after it may match
 * nothing. The transcoder then matches the full template itself, so every
 * google.api.http feature works whatever find-my-way supports.
 */
export function fastifyRoutePaths(template: PathTemplate): string[] {
  const literals: string[] = [];
  for (const segment of template.segments) {
    if (segment.kind !== "literal") break;
    literals.push(segment.value);
  }
  // find-my-way reads ":" as a parameter; "::" is a literal colon.
  const escapeColons = (s: string) => s.replaceAll(":", "::");
  const prefix = `/${literals.map(escapeColons).join("/")}`;
  if (literals.length === template.segments.length) {
    return [template.verb === undefined ? prefix : `${prefix}::${escapeColons(template.verb)}`];
  }
  const paths = [`${prefix === "/" ? "" : prefix}/*`];
  const next = template.segments[literals.length]!;
  if (next.kind === "multi" && template.verb === undefined && prefix !== "/") paths.push(prefix);
  return paths;
}
