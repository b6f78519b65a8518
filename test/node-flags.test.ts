import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { GATEWAY_NODE_FLAGS } from "../src/node-flags.js";

const root = new URL("../", import.meta.url);

describe("GATEWAY_NODE_FLAGS", () => {
  it("are what npm start runs the gateway with", () => {
    const start = (JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { scripts: Record<string, string> }).scripts.start!;
    const command = start.slice(start.indexOf("node "));
    for (const flag of GATEWAY_NODE_FLAGS) assert.ok(command.split(" ").includes(flag), `npm start: ${start}`);
  });

  it("are what the container runs the gateway with", () => {
    const cmd = readFileSync(new URL("Dockerfile", root), "utf8")
      .split("\n")
      .find((line) => line.startsWith("CMD "))!;
    const argv = JSON.parse(cmd.slice(4)) as string[];
    assert.equal(argv.at(-1), "dist/main.js");
    for (const flag of GATEWAY_NODE_FLAGS) assert.ok(argv.includes(flag), cmd);
  });

  it("cap the young generation, which Node itself leaves to grow", () => {
    const cap = GATEWAY_NODE_FLAGS.find((flag) => flag.startsWith("--max-semi-space-size="));
    assert.ok(cap !== undefined);
    assert.ok(Number(cap.split("=")[1]) > 0);
  });
});
