import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { createProgram } from "../../packages/cli/src/program.js";
import { depthTable } from "../../packages/cli/src/snapshot-view.js";
import { SnapshotMode } from "../../src/gen/stockify/v1/snapshot_pb.js";
import { startRecordingServer } from "../support/recording-server.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { waitFor } from "../support/transports.js";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command in this process, as main.ts does, capturing its output. */
function inProcess(args: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const result: Result = { code: 0, stdout: "", stderr: "" };
  stdout.on("data", (chunk: Buffer) => (result.stdout += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (result.stderr += chunk.toString()));
  const interrupt = new AbortController();
  const program = createProgram({ stdout, stderr, env, interrupt: interrupt.signal, setExitCode: (code) => (result.code = code) });
  const done = program.parseAsync(["node", "stockify", ...args]).then(
    () => result,
    (error: unknown) => {
      result.code = 1;
      result.stderr += `stockify: ${error instanceof Error ? error.message : String(error)}\n`;
      return result;
    },
  );
  return { result, done, interrupt };
}

const stockify = (args: string[], env: Record<string, string> = {}) => inProcess(args, env).done;

/** Runs the real `stockify` executable, as a user's shell would. */
function executable(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["packages/cli/bin/stockify.js", ...args], { env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
    });
  });
}

describe("stockify command", () => {
  let gateway: TestGateway;
  let secured: TestGateway;
  before(async () => {
    gateway = await startGateway();
    secured = await startGateway({ AUTH_TOKENS: "reader-token:read" });
  });
  after(async () => {
    await gateway.close();
    await secured.close();
  });
  const url = () => ["--url", gateway.baseUrl];

  it("runs as an executable: prints a snapshot, and fails with the gRPC code and status 1", async () => {
    const table = await executable([...url(), "get", "13"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /NIFTY 50 .* 13 .* 24,350\.00/);
    const unknown = await executable([...url(), "get", "9999"]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "stockify: [not_found] unknown symbol: 9999\n");
  });

  /** Runs a shell pipeline with pipefail, so a crash of stockify shows in the status. */
  function pipeline(command: string): Promise<Result> {
    return new Promise((resolve) => {
      execFile("bash", ["-o", "pipefail", "-c", command], { env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : -1, stdout, stderr });
      });
    });
  }
  const bin = `${JSON.stringify(process.execPath)} packages/cli/bin/stockify.js`;

  it("ends quietly with status 0 when the reader of a pipe goes away (| head -1)", async () => {
    // Updates keep coming, so stockify writes again after head has left.
    const ticker = setInterval(() => void gateway.app.market.ingest([{ symbolId: 27, ltp: 23850 + Math.random() }]), 20);
    try {
      for (const args of ["--json watch 27", "watch 27"]) {
        const result = await pipeline(`${bin} --url ${gateway.baseUrl} ${args} | head -1`);
        assert.equal(result.code, 0, `${args}: ${result.stderr}`);
        assert.equal(result.stderr, "", args);
        assert.equal(result.stdout.split("\n").length, 2, args);
      }
    } finally {
      clearInterval(ticker);
    }
  });

  it("writes a watch table to a pipe with no cursor movement", async () => {
    // Updates over several redraws, so a terminal table would be redrawn in place.
    const ticker = setInterval(() => void gateway.app.market.ingest([{ symbolId: 25, ltp: 52100 + Math.random() }]), 30);
    let result: Result;
    try {
      result = await pipeline(`${bin} --url ${gateway.baseUrl} watch 13 25 --limit 12 | cat`);
    } finally {
      clearInterval(ticker);
    }
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.split("BANK NIFTY").length > 2, "the table was written more than once");
    assert.match(result.stdout, /NIFTY 50/);
    // NO_COLOR is set, so any escape at all would be cursor movement or erasing.
    assert.ok(!result.stdout.includes("\u001b"), "an escape sequence in piped output");
  });

  it("prints its version", async () => {
    const result = await executable(["--version"]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "0.1.0\n");
  });

  it("symbols lists the symbols the gateway knows, as a table or JSON lines", async () => {
    const table = await stockify([...url(), "symbols"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(stripVTControlCharacters(table.stdout), /│ +13 │ NIFTY 50 +│/);
    const json = await stockify([...url(), "--json", "symbols"]);
    assert.deepEqual(
      json.stdout.trim().split("\n").map((line) => JSON.parse(line)),
      [
        { symbolId: 13, symbol: "NIFTY 50" },
        { symbolId: 25, symbol: "BANK NIFTY" },
        { symbolId: 27, symbol: "FIN NIFTY" },
      ],
    );
  });

  it("completion prints a bash script that completes commands and their options", async () => {
    const complete = async (words: string[]) => {
      const script = `eval "$(${bin} completion)"; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}; _stockify; echo "\${COMPREPLY[*]}"`;
      const result = await pipeline(script);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim().split(" ").sort();
    };
    assert.deepEqual(await complete(["stockify", "s"]), ["symbols"]);
    assert.deepEqual(await complete(["stockify", "--url", "http://x", "wa"]), ["watch"]);
    assert.deepEqual(await complete(["stockify", "watch", "13", "--m"]), ["--max-rate", "--mode"]);
  });

  it("get prints proto3 JSON with --json", async () => {
    const json = await stockify([...url(), "--json", "get", "13"]);
    const snapshot = JSON.parse(json.stdout);
    assert.equal(snapshot.ltp, 24350);
    assert.equal(snapshot.volume, "100");
  });

  it("batch prints every known symbol and names the unknown ones, exiting 1", async () => {
    const result = await stockify([...url(), "--json", "batch", "13", "25", "999"]);
    assert.equal(result.code, 1);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((s) => s.symbolId),
      [13, 25],
    );
    assert.match(result.stderr, /unknown symbols: 999/);
  });

  it("watch streams live updates until its limit", async () => {
    const { result, done } = inProcess([...url(), "--json", "watch", "13", "25", "--limit", "3"]);
    await waitFor(() => result.stdout.trim().split("\n").length >= 2, 10_000, "the current snapshots");
    await gateway.app.market.ingest([{ symbolId: 25, ltp: 52222.5 }]);
    await done;
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[2], { ...lines[2], symbolId: 25, ltp: 52222.5 });
  });

  it("watch draws a live table until interrupted", async () => {
    const { result, done, interrupt } = inProcess([...url(), "watch", "13", "25", "27"]);
    await waitFor(() => result.stdout.includes("3/3 symbols"), 10_000, "the table");
    interrupt.abort();
    await done;
    assert.equal(result.code, 0, result.stderr);
    for (const name of ["NIFTY 50", "BANK NIFTY", "FIN NIFTY"]) assert.ok(result.stdout.includes(name), name);
  });

  it("health reports SERVING", async () => {
    const result = await stockify([...url(), "health"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "gateway: SERVING\n");
  });

  it("watch fails at once when the gateway cannot be reached", async () => {
    const closed = await startGateway();
    await closed.close();
    const unreachable = await stockify(["--url", closed.baseUrl, "watch", "13"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /\[unavailable\]/);
  });

  it("rejects a symbol id that is not a positive integer", async () => {
    const result = await stockify([...url(), "get", "abc"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /expected a positive integer/);
  });

  it("sends --token, or STOCKIFY_TOKEN, as a bearer token", async () => {
    const refused = await stockify(["--url", secured.baseUrl, "get", "13"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /unauthenticated/);
    const flag = await stockify(["--url", secured.baseUrl, "--token", "reader-token", "--json", "get", "13"]);
    assert.equal(flag.code, 0, flag.stderr);
    const env = await stockify(["--json", "get", "25"], { STOCKIFY_URL: secured.baseUrl, STOCKIFY_TOKEN: "reader-token" });
    assert.equal(JSON.parse(env.stdout).symbol, "BANK NIFTY");
  });

  it("watch asks for the fields of --mode at the rate of --max-rate, and for quotes at every update by default", async () => {
    const server = await startRecordingServer();
    try {
      const ltp = await stockify(["--url", server.baseUrl, "--json", "watch", "13", "25", "--mode", "ltp", "--max-rate", "4", "--limit", "1"]);
      assert.equal(ltp.code, 0, ltp.stderr);
      const plain = await stockify(["--url", server.baseUrl, "--json", "watch", "27", "--limit", "1"]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(
        server.subscribes.map((r) => [r.symbolIds, r.mode, r.maxUpdatesPerSecond]),
        [
          [[13, 25], SnapshotMode.LTP, 4],
          [[27], SnapshotMode.QUOTE, 0],
        ],
      );
    } finally {
      await server.close();
    }
  });

  it("rejects a --mode or --max-rate it cannot send", async () => {
    const mode = await stockify([...url(), "watch", "13", "--mode", "depth"]);
    assert.equal(mode.code, 1);
    assert.match(mode.stderr, /ltp, quote, full/);
    for (const rate of ["-1", "2.5", "fast", "4294967296"]) {
      const result = await stockify([...url(), "watch", "13", "--max-rate", rate]);
      assert.equal(result.code, 1, rate);
      assert.match(result.stderr, /expected a whole number/, rate);
    }
  });

  it("draws a FULL snapshot's book with bids and asks side by side, and nothing without one", () => {
    const book = depthTable({
      symbolId: 13,
      symbol: "NIFTY 50",
      depth: {
        bids: [
          { price: 24350.5, quantity: 1275n, orders: 9 },
          { price: 24350.45, quantity: 3400n, orders: 17 },
        ],
        asks: [{ price: 24350.6, quantity: 950n, orders: 6 }],
      },
    } as never);
    const lines = stripVTControlCharacters(book).split("\n");
    assert.equal(lines[0], "NIFTY 50");
    assert.ok(lines.some((line) => /9 .*1,275 .*24,350\.50 .*24,350\.60 .*950 .*6/.test(line)), book);
    assert.ok(lines.some((line) => /17 .*3,400 .*24,350\.45/.test(line)), book);
    assert.equal(depthTable({ symbolId: 13, symbol: "NIFTY 50" } as never), "");
  });
});
