import {
  create,
  createRegistry,
  toBinary,
  type DescFile,
  type DescMessage,
  type DescService,
  type Registry,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as v1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { registration, type ServiceRegistration } from "../pipeline/service-registry.js";

/**
 * ReflectionRequest is what the v1 and v1alpha requests have in common.
 */
interface ReflectionRequest {
  readonly host: string;
  readonly messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
}

/**
 * ReflectionAnswer is the message_response of a reply, the same in v1 and v1alpha.
 */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: Array<{ name: string }> } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * reflectionRegistrations implements grpc.reflection.v1 and v1alpha
 * ServerReflectionInfo from the generated descriptors of the services the
 * gateway serves, so grpcurl, buf curl and Postman can list and call them
 * without .proto files. `services` is read on the first request, so the
 * list may still grow after this is called.
 */
export function reflectionRegistrations(services: () => readonly DescService[]): ServiceRegistration[] {
  let index: DescriptorIndex | undefined;
  const indexed = () => (index ??= new DescriptorIndex(services()));
  return [
    registration(v1.ServerReflection, {
      async *serverReflectionInfo(requests: AsyncIterable<v1.ServerReflectionRequest>) {
        const sent = new Set<string>();
        for await (const request of requests) {
          const messageResponse = answer(indexed(), request, sent);
          yield create(v1.ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse });
        }
      },
    }),
    registration(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests: AsyncIterable<v1alpha.ServerReflectionRequest>) {
        const sent = new Set<string>();
        for await (const request of requests) {
          const messageResponse = answer(indexed(), request, sent);
          yield create(v1alpha.ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse });
        }
      },
    }),
  ];
}

/**
 * DescriptorIndex finds the files, types and extensions reachable from the
 * served services.
 */
class DescriptorIndex {
  readonly serviceNames: string[];
  readonly #files = new Map<string, DescFile>();
  readonly #registry: Registry;
  readonly #encoded = new Map<string, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = [...new Set(services.map((s) => s.typeName))].sort();
    const visit = (file: DescFile) => {
      // DescFile.name has no ".proto"; clients ask for the path as imported.
      if (this.#files.has(file.proto.name)) return;
      this.#files.set(file.proto.name, file);
      for (const dependency of file.dependencies) visit(dependency);
    };
    for (const service of services) visit(service.file);
    this.#registry = createRegistry(...this.#files.values());
  }

  file(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  /** Returns the file that declares a type, service, method, field or enum value. */
  fileContaining(symbol: string): DescFile | undefined {
    const type = this.#registry.get(symbol);
    if (type !== undefined) return type.file;
    // Members (a service's method, a message's field) are named after
    // their parent.
    const dot = symbol.lastIndexOf(".");
    if (dot < 0) return undefined;
    const parent = this.#registry.get(symbol.slice(0, dot));
    const member = symbol.slice(dot + 1);
    if (parent?.kind === "service" && parent.methods.some((m) => m.name === member)) return parent.file;
    if (parent?.kind === "message" && parent.fields.some((f) => f.name === member)) return parent.file;
    if (parent?.kind === "enum" && parent.values.some((v) => v.name === member)) return parent.file;
    return undefined;
  }

  message(typeName: string): DescMessage | undefined {
    return this.#registry.getMessage(typeName);
  }

  extensionFile(extendee: DescMessage, number: number): DescFile | undefined {
    return this.#registry.getExtensionFor(extendee, number)?.file;
  }

  extensionNumbers(extendee: DescMessage): number[] {
    const numbers: number[] = [];
    for (const type of this.#registry) {
      if (type.kind === "extension" && type.extendee.typeName === extendee.typeName) numbers.push(type.number);
    }
    return numbers.sort((a, b) => a - b);
  }

  /**
   * Returns the serialized FileDescriptorProto of a file, then of each of
   * its transitive dependencies not yet sent on this stream (the client
   * keeps those it received), as gRPC's own servers do.
   */
  withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue = [file];
    for (let i = 0; i < queue.length; i++) {
      const current = queue[i]!;
      if (i > 0 && sent.has(current.proto.name)) continue;
      sent.add(current.proto.name);
      out.push(this.#encode(current));
      for (const dependency of current.dependencies) if (!queue.includes(dependency)) queue.push(dependency);
    }
    return out;
  }

  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#encoded.set(file.proto.name, bytes);
    }
    return bytes;
  }
}

function answer(index: DescriptorIndex, request: ReflectionRequest, sent: Set<string>): ReflectionAnswer {
  const asked = request.messageRequest;
  switch (asked.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } };
    case "fileByFilename": {
      const file = index.file(asked.value);
      return file === undefined ? notFound(`file not found: ${asked.value}`) : files(index.withDependencies(file, sent));
    }
    case "fileContainingSymbol": {
      const file = index.fileContaining(asked.value);
      return file === undefined ? notFound(`symbol not found: ${asked.value}`) : files(index.withDependencies(file, sent));
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = asked.value;
      const extendee = index.message(containingType);
      const file = extendee === undefined ? undefined : index.extensionFile(extendee, extensionNumber);
      return file === undefined
        ? notFound(`extension not found: ${containingType} ${extensionNumber}`)
        : files(index.withDependencies(file, sent));
    }
    case "allExtensionNumbersOfType": {
      const extendee = index.message(asked.value);
      if (extendee === undefined) return notFound(`type not found: ${asked.value}`);
      return {
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: extendee.typeName, extensionNumber: index.extensionNumbers(extendee) },
      };
    }
    default:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" } };
  }
}

function files(fileDescriptorProto: Uint8Array[]): ReflectionAnswer {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function notFound(errorMessage: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage } };
}
