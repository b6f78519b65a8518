import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { requireTool } from "../support/required-tool.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Runs the gateway on a pseudo-terminal (util-linux's script) until it says it listens, and returns what it printed. */
function firstLinesOnTerminal(env: Record<string, string>): Promise<string> {
  requireTool("script", "bsdutils");
  const command = `${process.execPath} --import tsx src/main.ts`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", SIMULATOR: "off", SHUTDOWN_DRAIN_DELAY_MS: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no listening line:\n${output}`));
    }, 20_000);
    let seen = false;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (seen || !/Server listening/.test(output)) return;
      seen = true;
      clearTimeout(timer);
      child.once("exit", () => resolve(output));
      // Closing the terminal hangs up on the gateway.
      child.kill("SIGTERM");
    });
  });
}

describe("logs on a terminal", () => {
  it("are pretty lines for a person, not JSON", async () => {
    const output = await firstLinesOnTerminal({});
    assert.match(output, /INFO.*Server listening at http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(output, /"level":30/);
  });

  it("stay JSON with LOG_FORMAT=json", async () => {
    const output = await firstLinesOnTerminal({ LOG_FORMAT: "json" });
    assert.match(output, /"level":30.*"msg":"Server listening at/);
  });
});
