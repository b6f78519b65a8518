import { createProgram } from "./program.js";

// The stockify command: see createProgram for what it offers. Errors are
// one line on stderr (ConnectError messages start with their code) and
// exit status 1.
const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort());
const program = createProgram({ stdout: process.stdout, stderr: process.stderr, env: process.env, interrupt: interrupt.signal });
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`stockify: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
