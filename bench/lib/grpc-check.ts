import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  GetSnapshotRequestSchema,
  GetSnapshotResponseSchema,
  MarketDataService,
} from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { BENCH_SYMBOL_ID } from "../peers/bench-market.js";

/**
 * checkGetSnapshot calls GetSnapshot once with @grpc/grpc-js and fails
 * unless the answer is the bench symbol's snapshot: h2load counts HTTP 200s
 * and cannot see a gRPC error in the trailers.
 */
export async function checkGetSnapshot(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const method = MarketDataService.method.getSnapshot;
  try {
    const response = await new Promise<Uint8Array>((resolve, reject) =>
      client.makeUnaryRequest(
        `/${MarketDataService.typeName}/${method.name}`,
        (value: Uint8Array) => Buffer.from(value),
        (bytes: Buffer) => bytes,
        toBinary(GetSnapshotRequestSchema, create(GetSnapshotRequestSchema, { symbolId: BENCH_SYMBOL_ID })),
        (error, value) => (error ? reject(error) : resolve(value!)),
      ),
    );
    const symbolId = fromBinary(GetSnapshotResponseSchema, response).snapshot?.symbolId;
    if (symbolId !== BENCH_SYMBOL_ID) throw new Error(`GetSnapshot answered symbol ${symbolId}`);
  } finally {
    client.close();
  }
}
