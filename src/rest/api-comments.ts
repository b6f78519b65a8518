import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";

/**
 * ApiComments maps fully-qualified proto names (`stockify.v1.Snapshot`,
 * `stockify.v1.Snapshot.ltp`, `stockify.v1.MarketDataService.GetSnapshot`)
 * to the comment written above them in the .proto files.
 */
export type ApiComments = ReadonlyMap<string, string>;

/** Where `npm run generate` writes the API's descriptors with their comments. */
const DESCRIPTORS_URL = new URL("../gen/api-descriptors.binpb", import.meta.url);

/**
 * loadApiComments reads the comments of the API's protos from the
 * descriptor set `npm run generate` writes next to the generated code (the
 * descriptors embedded in generated code carry no comments). An absent file
 * means no comments, never a failure.
 */
export function loadApiComments(url: URL = DESCRIPTORS_URL): ApiComments {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(url);
  } catch {
    return new Map();
  }
  const comments = new Map<string, string>();
  for (const file of fromBinary(FileDescriptorSetSchema, bytes).file) collectFile(file, comments);
  return comments;
}

// Field numbers of FileDescriptorProto, DescriptorProto, EnumDescriptorProto
// and ServiceDescriptorProto that source locations use as path steps.
const FILE_MESSAGE = 4;
const FILE_ENUM = 5;
const FILE_SERVICE = 6;
const MESSAGE_FIELD = 2;
const MESSAGE_NESTED = 3;
const MESSAGE_ENUM = 4;
const ENUM_VALUE = 2;
const SERVICE_METHOD = 2;

function collectFile(file: FileDescriptorProto, out: Map<string, string>): void {
  const byPath = new Map<string, string>();
  for (const location of file.sourceCodeInfo?.location ?? []) {
    const text = clean(location.leadingComments ?? "");
    if (text !== "") byPath.set(location.path.join(","), text);
  }
  const note = (name: string, path: number[]) => {
    const text = byPath.get(path.join(","));
    if (text !== undefined) out.set(name, text);
  };
  const prefix = file.package === "" ? "" : `${file.package}.`;
  const message = (m: DescriptorProto, name: string, path: number[]) => {
    note(name, path);
    m.field.forEach((f, i) => note(`${name}.${f.name}`, [...path, MESSAGE_FIELD, i]));
    m.nestedType.forEach((n, i) => message(n, `${name}.${n.name}`, [...path, MESSAGE_NESTED, i]));
    m.enumType.forEach((e, i) => enumeration(e, `${name}.${e.name}`, [...path, MESSAGE_ENUM, i]));
  };
  const enumeration = (e: EnumDescriptorProto, name: string, path: number[]) => {
    note(name, path);
    e.value.forEach((v, i) => note(`${name}.${v.name}`, [...path, ENUM_VALUE, i]));
  };
  file.messageType.forEach((m, i) => message(m, `${prefix}${m.name}`, [FILE_MESSAGE, i]));
  file.enumType.forEach((e, i) => enumeration(e, `${prefix}${e.name}`, [FILE_ENUM, i]));
  file.service.forEach((s, i) => {
    const name = `${prefix}${s.name}`;
    note(name, [FILE_SERVICE, i]);
    s.method.forEach((m, j) => note(`${name}.${m.name}`, [FILE_SERVICE, i, SERVICE_METHOD, j]));
  });
}

function clean(comment: string): string {
  return comment
    .split("\n")
    .map((line) => line.trim())
    .join("\n")
    .trim();
}
