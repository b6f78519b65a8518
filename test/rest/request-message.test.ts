import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, equals, type DescMethod, type Message } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
  timestampMs,
  type Timestamp,
} from "@bufbuild/protobuf/wkt";
import { MarketDataService, type SubscribeSnapshotsRequest } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotMode } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { registration } from "../../src/pipeline/service-registry.js";
import { collectHttpBindings, resolveFieldPath, type HttpBinding } from "../../src/rest/http-bindings.js";
import { matchPathTemplate, parsePathTemplate } from "../../src/rest/path-template.js";
import { buildRequestMessage, RequestInputError } from "../../src/rest/request-message.js";

// A request message with every kind of field a query can name, built at
// run time so that the API's protos need not carry test-only messages.
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "probe.proto",
    package: "probe",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Probe",
        field: [
          { name: "count", jsonName: "count", number: 1, type: Type.INT32, label: Label.OPTIONAL },
          { name: "flag", jsonName: "flag", number: 2, type: Type.BOOL, label: Label.OPTIONAL },
          { name: "inner", jsonName: "inner", number: 3, type: Type.MESSAGE, label: Label.OPTIONAL, typeName: ".probe.Inner" },
          { name: "big_ids", jsonName: "bigIds", number: 4, type: Type.INT64, label: Label.REPEATED },
          { name: "at", jsonName: "at", number: 5, type: Type.MESSAGE, label: Label.OPTIONAL, typeName: ".google.protobuf.Timestamp" },
          { name: "color", jsonName: "color", number: 6, type: Type.ENUM, label: Label.OPTIONAL, typeName: ".probe.Color" },
          { name: "ratio", jsonName: "ratio", number: 7, type: Type.DOUBLE, label: Label.OPTIONAL },
          { name: "items", jsonName: "items", number: 8, type: Type.MESSAGE, label: Label.REPEATED, typeName: ".probe.Inner" },
        ],
      },
      {
        name: "Inner",
        field: [
          { name: "name", jsonName: "name", number: 1, type: Type.STRING, label: Label.OPTIONAL },
          { name: "level", jsonName: "level", number: 2, type: Type.UINT32, label: Label.OPTIONAL },
        ],
      },
    ],
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }] }],
  }),
  (name) => (name === "google/protobuf/timestamp.proto" ? file_google_protobuf_timestamp : undefined),
);
const Probe = registry.getMessage("probe.Probe")!;

type ProbeShape = Message & {
  count: number;
  flag: boolean;
  inner?: { name: string; level: number };
  bigIds: bigint[];
  at?: Timestamp;
  color: number;
  ratio: number;
};

function binding(path: string, body?: "*" | "inner"): HttpBinding {
  const template = parsePathTemplate(path);
  const fail = (why: string): never => {
    throw new Error(why);
  };
  return {
    httpMethod: body === undefined ? "GET" : "POST",
    template,
    method: { input: Probe } as DescMethod,
    spec: undefined as never,
    pathFields: new Map(template.variables.map((v) => [v.fieldPath.join("."), resolveFieldPath(Probe, v.fieldPath, fail)])),
    body: body === "inner" ? Probe.fields.find((f) => f.name === "inner") : body,
    responseBody: undefined,
  };
}

function build(b: HttpBinding, path: string, query = "", body?: string): ProbeShape {
  const values = matchPathTemplate(b.template, path);
  assert.ok(values !== undefined, `${path} matches ${b.template.source}`);
  const bytes = body === undefined ? undefined : new TextEncoder().encode(body);
  return buildRequestMessage(b, values, new URLSearchParams(query), bytes) as ProbeShape;
}

const plain = binding("/probes");
const byName = binding("/probes/{inner.name}");

describe("request message from path, query and body", () => {
  it("converts query values to every scalar kind, enums and timestamps", () => {
    const m = build(plain, "/probes", "count=-5&flag=true&ratio=1.5&color=COLOR_RED&at=2026-01-02T03:04:05.250Z");
    assert.equal(m.count, -5);
    assert.equal(m.flag, true);
    assert.equal(m.ratio, 1.5);
    assert.equal(m.color, 1);
    assert.equal(timestampMs(m.at!), Date.parse("2026-01-02T03:04:05.250Z"));
    assert.equal(build(plain, "/probes", "color=1").color, 1);
    assert.equal(build(plain, "/probes", "ratio=NaN").ratio, Number.NaN);
  });

  it("builds a path-only request directly, the same message as from the path and a query", () => {
    const byCount = binding("/probes/{count}");
    const byFlag = binding("/probes/{flag}/flag");
    for (const text of ["13", "-0", "-2147483648", "2147483647"]) {
      const direct = build(byCount, `/probes/${text}`);
      // A query takes the general path (JSON, then fromJson): it must agree.
      const general = build(byCount, `/probes/${text}`, "ratio=0");
      assert.ok(equals(Probe, direct as unknown as Message, general as unknown as Message), text);
      assert.ok(Object.is(direct.count, Number(text) + 0), text);
    }
    assert.equal(build(byFlag, "/probes/true/flag").flag, true);
    for (const [text, why] of [
      ["abc", /path parameter count: "abc" is not a int32/],
      ["2147483648", /path parameter count: 2147483648 is out of range for int32/],
      ["1.5", /is not a int32/],
      ["0013", /"0013" is not a number as proto3 JSON writes one/],
    ] as const) {
      assert.throws(() => build(byCount, `/probes/${text}`), (error: Error) => error instanceof RequestInputError && why.test(error.message), text);
    }
  });

  it("repeats a parameter for a repeated field, keeping 64-bit values exact", () => {
    const m = build(plain, "/probes", "big_ids=9007199254740993&big_ids=-1&bigIds=7");
    assert.deepEqual(m.bigIds, [9007199254740993n, -1n, 7n]);
  });

  it("sets nested fields from dotted names and from the path", () => {
    const m = build(byName, "/probes/a%20b", "inner.level=3");
    assert.deepEqual({ name: m.inner!.name, level: m.inner!.level }, { name: "a b", level: 3 });
  });

  it("takes the whole request or one field from the body, path values winning", () => {
    const whole = build(binding("/probes/{inner.name}", "*"), "/probes/p", "", '{"count": 2, "inner": {"name": "body", "level": 4}}');
    assert.equal(whole.count, 2);
    assert.deepEqual({ name: whole.inner!.name, level: whole.inner!.level }, { name: "p", level: 4 });
    const field = build(binding("/probes", "inner"), "/probes", "count=9", '{"name": "n", "level": 1}');
    assert.equal(field.count, 9);
    assert.equal(field.inner!.name, "n");
    assert.equal(build(binding("/probes", "*"), "/probes", "", "").count, 0);
  });

  it("rejects bad values with a message naming the parameter", () => {
    const cases: Array<[string, RegExp]> = [
      ["count=abc", /query parameter count: "abc" is not a int32/],
      ["count=2147483648", /out of range for int32/],
      ["count=1.0", /not a int32/],
      ["count=", /not a int32/],
      ["flag=yes", /not true or false/],
      ["ratio=fast", /not a number/],
      ["inner.level=-1", /inner\.level: -1 is out of range for uint32/],
      ["at=yesterday", /at/],
      ["color=COLOR_BLUE", /COLOR_BLUE/],
    ];
    for (const [query, message] of cases) {
      assert.throws(() => build(plain, "/probes", query), (e: Error) => e instanceof RequestInputError && message.test(e.message), query);
    }
  });

  it("rejects unknown, misplaced and duplicated parameters", () => {
    const cases: Array<[HttpBinding, string, string, RegExp]> = [
      [plain, "/probes", "nope=1", /unknown query parameter nope/],
      [plain, "/probes", "inner.nope=1", /unknown query parameter inner\.nope/],
      [plain, "/probes", "count.x=1", /unknown query parameter count\.x/],
      [plain, "/probes", "items.name=1", /unknown query parameter items\.name/],
      [plain, "/probes", "inner=1", /cannot be given in a query/],
      [plain, "/probes", "items=1", /cannot be given in a query/],
      [plain, "/probes", "count=1&count=2", /count is given 2 times/],
      [byName, "/probes/x", "inner.name=y", /already set by the path/],
      [binding("/probes", "inner"), "/probes", "inner.level=1", /set by the request body/],
      [binding("/probes", "*"), "/probes", "count=1", /takes its input from the body/],
    ];
    for (const [b, path, query, message] of cases) {
      assert.throws(() => build(b, path, query), (e: Error) => e instanceof RequestInputError && message.test(e.message), query);
    }
  });

  it("lets neither a path variable nor a query parameter go through a timestamp or wrapper", () => {
    assert.throws(() => binding("/probes/{at.seconds}"), /at\.seconds goes through a field that is not a message/);
    assert.throws(() => build(plain, "/probes", "at.seconds=1"), (e: Error) => e instanceof RequestInputError && /unknown query parameter at\.seconds/.test(e.message));
    assert.equal(timestampMs(build(binding("/probes/{at}"), "/probes/2026-01-02T03:04:05Z").at!), Date.parse("2026-01-02T03:04:05Z"));
  });

  it("is not fooled by hostile parameter names and sizes", () => {
    for (const key of ["__proto__", "constructor", "__proto__.polluted", "inner.__proto__", "toString", ".", "..", ""]) {
      assert.throws(() => build(plain, "/probes", `${encodeURIComponent(key)}=1`), RequestInputError, key);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const long = "9".repeat(100_000);
    assert.throws(
      () => build(plain, "/probes", `count=${long}`),
      (e: Error) => e instanceof RequestInputError && e.message.length < 200,
    );
    const many = Array.from({ length: 10_000 }, () => "big_ids=1").join("&");
    assert.equal(build(plain, "/probes", many).bigIds.length, 10_000);
  });

  it("rejects malformed or non-object JSON bodies", () => {
    const whole = binding("/probes", "*");
    for (const [body, message] of [
      ["{", /not valid JSON/],
      ["[1]", /JSON object/],
      ["42", /JSON object/],
      ['{"count": "x"}', /count/],
      ['{"unknown": 1}', /unknown/],
      ['{"__proto__": {"count": 1}}', /__proto__/],
    ] as const) {
      assert.throws(() => build(whole, "/probes", "", body), (e: Error) => e instanceof RequestInputError && message.test(e.message), body);
    }
    assert.throws(
      () => buildRequestMessage(whole, new Map(), new URLSearchParams(), new Uint8Array([0x7b, 0xff, 0x7d])),
      /not valid JSON/,
    );
  });
});

describe("snapshot stream query", () => {
  const stream = collectHttpBindings([registration(MarketDataService, {} as never)]).find(
    (b) => b.template.source === "/v1/snapshots:stream",
  )!;
  const request = (query: string) => buildRequestMessage(stream, new Map(), new URLSearchParams(query), undefined) as SubscribeSnapshotsRequest;

  it("takes the field mode and the rate from the query, by proto or JSON name, the mode by name or number", () => {
    const byProtoName = request("symbol_ids=13&symbol_ids=25&mode=SNAPSHOT_MODE_LTP&max_updates_per_second=4");
    assert.deepEqual([byProtoName.symbolIds, byProtoName.mode, byProtoName.maxUpdatesPerSecond], [[13, 25], SnapshotMode.LTP, 4]);
    const byJsonName = request("symbolIds=13&mode=3&maxUpdatesPerSecond=1");
    assert.deepEqual([byJsonName.mode, byJsonName.maxUpdatesPerSecond], [SnapshotMode.FULL, 1]);
    const plain = request("symbol_ids=13");
    assert.deepEqual([plain.mode, plain.maxUpdatesPerSecond], [SnapshotMode.UNSPECIFIED, 0]);
  });

  it("rejects a mode it does not know and a rate that is not a uint32, naming the parameter", () => {
    assert.throws(() => request("symbol_ids=13&mode=SNAPSHOT_MODE_DEPTH"), RequestInputError);
    assert.throws(() => request("symbol_ids=13&max_updates_per_second=-1"), /query parameter max_updates_per_second/);
    assert.throws(() => request("symbol_ids=13&max_updates_per_second=4294967296"), /query parameter max_updates_per_second/);
  });
});

