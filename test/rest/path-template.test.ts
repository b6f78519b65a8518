import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareTemplates,
  fastifyRoutePaths,
  matchPathTemplate,
  parsePathTemplate,
  PathTemplateError,
  PathValueError,
} from "../../src/rest/path-template.js";

function match(template: string, path: string) {
  const result = matchPathTemplate(parsePathTemplate(template), path);
  return result === undefined ? undefined : Object.fromEntries(result);
}

describe("path template", () => {
  describe("parsing", () => {
    it("reads literals, variables and the verb", () => {
      const t = parsePathTemplate("/v1/snapshots/{symbol_id}:watch");
      assert.deepEqual(t.segments, [{ kind: "literal", value: "v1" }, { kind: "literal", value: "snapshots" }, { kind: "single" }]);
      assert.deepEqual(t.variables, [{ fieldPath: ["symbol_id"], start: 2, end: 3 }]);
      assert.equal(t.verb, "watch");
    });

    it("reads variables with patterns and nested field paths", () => {
      const t = parsePathTemplate("/v1/{book.name=shelves/*/books/*}:publish");
      assert.equal(t.segments.length, 5);
      assert.deepEqual(t.variables, [{ fieldPath: ["book", "name"], start: 1, end: 5 }]);
      assert.equal(t.verb, "publish");
    });

    it("reads ** as the last segment, inside or outside a variable", () => {
      assert.deepEqual(parsePathTemplate("/v1/{name=files/**}").segments.at(-1), { kind: "multi" });
      assert.deepEqual(parsePathTemplate("/static/**").segments.at(-1), { kind: "multi" });
    });

    it("treats a colon before the last slash as part of a literal", () => {
      const t = parsePathTemplate("/v1/a:b/{id}");
      assert.equal(t.verb, undefined);
      assert.deepEqual(t.segments[1], { kind: "literal", value: "a:b" });
    });

    it("rejects templates outside the grammar", () => {
      for (const bad of [
        "v1/x",
        "/v1/{id",
        "/v1/id}",
        "/v1/{a{b}}",
        "/v1/{a-b}",
        "/v1/{}",
        "/v1//x",
        "/v1/**/x",
        "/v1/x:",
        "/v1/pre{id}",
        "/v1/{id=}",
        "/v1/{id}/{id}",
      ]) {
        assert.throws(() => parsePathTemplate(bad), PathTemplateError, bad);
      }
    });
  });

  describe("matching", () => {
    it("binds single-segment variables, fully decoded", () => {
      assert.deepEqual(match("/v1/snapshots/{symbol_id}", "/v1/snapshots/13"), { symbol_id: "13" });
      assert.deepEqual(match("/v1/users/{name}", "/v1/users/a%2Fb%20c"), { name: "a/b c" });
    });

    it("keeps %2F in multi-segment variables and joins their segments with /", () => {
      assert.deepEqual(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b%2F2"), { name: "shelves/s1/books/b%2F2" });
      assert.deepEqual(match("/files/{path=**}", "/files/a/b%20c/d"), { path: "a/b c/d" });
    });

    it("lets ** match zero or more segments", () => {
      assert.deepEqual(match("/files/{path=**}", "/files"), { path: "" });
      assert.deepEqual(match("/static/**", "/static/a/b/c"), {});
    });

    it("requires literals, segment counts and the verb to fit", () => {
      assert.equal(match("/v1/snapshots/{symbol_id}", "/v1/snapshot/13"), undefined);
      assert.equal(match("/v1/snapshots/{symbol_id}", "/v1/snapshots/13/x"), undefined);
      assert.equal(match("/v1/snapshots/{symbol_id}", "/v1/snapshots/"), undefined);
      assert.equal(match("/v1/snapshots/{symbol_id}", "/v1/snapshots"), undefined);
      assert.equal(match("/v1/{name=shelves/*}", "/v1/books/1"), undefined);
      assert.deepEqual(match("/v1/snapshots:stream", "/v1/snapshots:stream"), {});
      assert.equal(match("/v1/snapshots:stream", "/v1/snapshots"), undefined);
      assert.equal(match("/v1/snapshots", "/v1/snapshots:stream"), undefined);
      assert.deepEqual(match("/v1/jobs/{id}:cancel", "/v1/jobs/7:cancel"), { id: "7" });
      assert.equal(match("/v1/jobs/{id}:cancel", "/v1/jobs/7"), undefined);
    });

    it("leaves a colon inside a plain variable to the variable", () => {
      assert.deepEqual(match("/v1/jobs/{id}", "/v1/jobs/7:cancel"), { id: "7:cancel" });
    });

    it("decodes escaped literals before comparing", () => {
      assert.deepEqual(match("/v1/snapshots/{id}", "/v1/snap%73hots/1"), { id: "1" });
    });

    it("rejects malformed percent-encoding with PathValueError", () => {
      assert.throws(() => match("/v1/snapshots/{id}", "/v1/snapshots/%E0%A4%A"), PathValueError);
      assert.throws(() => match("/v1/snapshots/{id}", "/v1/snapshots/%zz"), PathValueError);
    });

    it("handles very long paths in linear time", () => {
      const long = `/v1/snapshots/${"9".repeat(100_000)}`;
      assert.equal(match("/v1/snapshots/{id}", long)?.id.length, 100_000);
      const deep = `/files/${"a/".repeat(50_000)}b`;
      assert.equal(match("/files/{path=**}", deep)?.path.length, 100_001);
      assert.equal(match("/v1/snapshots/{id}", deep), undefined);
    });
  });

  describe("ordering and mounting", () => {
    it("orders literal before variable before **, verb first", () => {
      const sorted = ["/v1/{x=**}", "/v1/{id}", "/v1/special", "/v1/{id}:verb"]
        .map(parsePathTemplate)
        .sort(compareTemplates)
        .map((t) => t.source);
      assert.deepEqual(sorted, ["/v1/special", "/v1/{id}:verb", "/v1/{id}", "/v1/{x=**}"]);
    });

    it("mounts literal templates as they are and others under their literal prefix", () => {
      const paths = (template: string) => fastifyRoutePaths(parsePathTemplate(template));
      assert.deepEqual(paths("/v1/symbols"), ["/v1/symbols"]);
      assert.deepEqual(paths("/v1/snapshots:batchGet"), ["/v1/snapshots::batchGet"]);
      assert.deepEqual(paths("/v1/snapshots/{symbol_id}"), ["/v1/snapshots/*"]);
      assert.deepEqual(paths("/v1/{name=shelves/*}:get"), ["/v1/shelves/*"]);
      // ** may match no segment at all: the bare prefix is mounted too.
      assert.deepEqual(paths("/files/{path=**}"), ["/files/*", "/files"]);
      assert.deepEqual(paths("/{name=**}"), ["/*"]);
    });
  });
});
