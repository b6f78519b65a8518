import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";

/**
 * grpcJsMethod returns the path and serializers @grpc/grpc-js needs to call
 * a method, from its protobuf-es descriptor.
 */
export function grpcJsMethod<I extends DescMessage, O extends DescMessage>(method: DescMethod & { input: I; output: O }) {
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    serialize: (message: MessageShape<I>) => Buffer.from(toBinary(method.input, message)),
    deserialize: (bytes: Buffer) => fromBinary(method.output, bytes) as MessageShape<O>,
  };
}

/**
 * grpcJsUnary calls a unary method with @grpc/grpc-js's generic client.
 */
export function grpcJsUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethod & { input: I; output: O },
  request: MessageShape<I>,
  metadata = new grpc.Metadata(),
): Promise<MessageShape<O>> {
  const { path, serialize, deserialize } = grpcJsMethod(method);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, serialize, deserialize, request, metadata, (error, response) => {
      if (error) reject(error);
      else resolve(response!);
    });
  });
}
