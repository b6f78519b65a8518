import type { DescMessage } from "@bufbuild/protobuf";
import type { MethodSerializationLookup, Serialization } from "@connectrpc/connect/protocol";
import { identityCache } from "./identity-cache.js";

/**
 * withFrozenOutputCache wraps a method's serializers so that a frozen
 * response message is serialized once per format, however many calls
 * answer with it: a snapshot is read by every caller until it changes,
 * and a frozen message cannot change after its bytes were written. Plain
 * messages are serialized afresh, as a handler may reuse and mutate them.
 * A message over the write limit fails every time: only bytes are kept.
 */
export function withFrozenOutputCache<I extends DescMessage, O extends DescMessage>(lookup: MethodSerializationLookup<I, O>): MethodSerializationLookup<I, O> {
  const binary = cached(lookup.getO(true));
  const json = cached(lookup.getO(false));
  return {
    getI: (useBinaryFormat) => lookup.getI(useBinaryFormat),
    getO: (useBinaryFormat) => (useBinaryFormat ? binary : json),
  };
}

function cached<T>(serialization: Serialization<T>): Serialization<T> {
  const serialize = identityCache((message: T & object) => serialization.serialize(message), { frozenOnly: true });
  return {
    parse: (data) => serialization.parse(data),
    serialize: (message) => serialize(message as T & object),
  };
}
