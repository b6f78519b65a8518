import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "../../src/gen/grpc/reflection/v1/reflection_pb.js";
import { startGateway, type TestGateway } from "../support/gateway.js";

const BUF = "node_modules/.bin/buf";
const run = promisify(execFile);

/** bufCurl runs `buf curl` (schema from reflection unless told otherwise) and returns its output. */
async function bufCurl(...args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ["curl", ...args], { timeout: 20_000 });
  return stdout;
}

describe("server reflection", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  it("lets buf curl list every service, over v1 and v1alpha", async () => {
    const expected = [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "stockify.v1.MarketDataService",
      "stockify.v1.MarketFeedService",
      "stockify.v1.MarketHistoryService",
    ];
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const listed = (await bufCurl("--reflect-protocol", protocol, "--list-services", gateway.baseUrl)).trim().split("\n");
      assert.deepEqual(listed.sort(), expected, protocol);
    }
  });

  it("gives buf curl the schema to call a method with JSON and no .proto file", async () => {
    const out = await bufCurl(
      "--protocol",
      "grpc",
      "--data",
      '{"symbolIds": [13, 25, 4242]}',
      `${gateway.baseUrl}/stockify.v1.MarketDataService/GetBatchSnapshots`,
    );
    const reply = JSON.parse(out) as { snapshots: Record<string, { symbol: string }>; missingSymbolIds: number[] };
    assert.equal(reply.snapshots["13"]?.symbol, "NIFTY 50");
    assert.equal(reply.snapshots["25"]?.symbol, "BANK NIFTY");
    assert.deepEqual(reply.missingSymbolIds, [4242]);
  });

  describe("answered directly", () => {
    const ask = async (...requests: Array<MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"]>): Promise<ServerReflectionResponse[]> => {
      const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: gateway.baseUrl }));
      const replies: ServerReflectionResponse[] = [];
      async function* input() {
        for (const messageRequest of requests) yield create(ServerReflectionRequestSchema, { host: "gw", messageRequest });
      }
      for await (const reply of client.serverReflectionInfo(input())) replies.push(reply);
      return replies;
    };
    const fileNames = (reply: ServerReflectionResponse) =>
      reply.messageResponse.case === "fileDescriptorResponse"
        ? reply.messageResponse.value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name)
        : [];

    it("finds the file of a method with its dependencies, each sent once per stream", async () => {
      const [first, second] = await ask(
        { case: "fileContainingSymbol", value: "stockify.v1.MarketDataService.GetSnapshot" },
        { case: "fileContainingSymbol", value: "stockify.v1.Snapshot" },
      );
      assert.equal(first!.validHost, "gw");
      const names = fileNames(first!);
      assert.equal(names[0], "stockify/v1/market_data_service.proto");
      assert.ok(names.includes("stockify/v1/snapshot.proto"));
      assert.ok(names.includes("google/api/annotations.proto"));
      assert.ok(names.includes("google/protobuf/descriptor.proto"));
      assert.deepEqual(fileNames(second!), ["stockify/v1/snapshot.proto"]);
    });

    it("lists extension numbers and finds the file of an extension", async () => {
      const [numbers, file] = await ask(
        { case: "allExtensionNumbersOfType", value: "google.protobuf.MethodOptions" },
        { case: "fileContainingExtension", value: { containingType: "google.protobuf.MethodOptions", extensionNumber: 72295728 } },
      );
      assert.equal(numbers!.messageResponse.case, "allExtensionNumbersResponse");
      assert.ok(numbers!.messageResponse.case === "allExtensionNumbersResponse" && numbers!.messageResponse.value.extensionNumber.includes(72295728));
      assert.equal(fileNames(file!)[0], "google/api/annotations.proto");
    });

    it("answers NOT_FOUND for what it does not know and keeps the stream going", async () => {
      const replies = await ask(
        { case: "fileByFilename", value: "nope.proto" },
        { case: "fileContainingSymbol", value: "stockify.v1.Nope" },
        { case: "fileByFilename", value: "stockify/v1/snapshot.proto" },
      );
      for (const reply of replies.slice(0, 2)) {
        assert.equal(reply.messageResponse.case, "errorResponse");
        assert.equal(reply.messageResponse.case === "errorResponse" && reply.messageResponse.value.errorCode, 5);
      }
      assert.deepEqual(fileNames(replies[2]!), ["stockify/v1/snapshot.proto", "google/protobuf/timestamp.proto"]);
    });
  });
});

describe("server reflection turned off", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startGateway({ REFLECTION: "off" });
  });
  after(() => gateway.close());

  it("is not served, so buf curl needs a schema", async () => {
    await assert.rejects(bufCurl("--list-services", gateway.baseUrl), /unimplemented|not implemented|404/i);
  });
});
