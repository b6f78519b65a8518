import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { requireTool } from "./required-tool.js";

describe("requireTool", () => {
  it("names a missing program, its Debian package and .ci/run", () => {
    assert.throws(
      () => requireTool("stockify-no-such-program", "stockify-tools"),
      /^Error: stockify-no-such-program is not installed.*apt-get install stockify-tools.*\.ci\/run/,
    );
  });

  it("passes for a program on the PATH, and for one given by its absolute path", () => {
    requireTool("node", "nodejs");
    requireTool(process.execPath, "nodejs");
  });
});
