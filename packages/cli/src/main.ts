import { CommanderError } from "commander";
import { createProgram } from "./program.js";

// The stockify command: see createProgram for what it offers. Errors are
// one line on stderr (ConnectError messages start with their code) and
// exit status 1.
const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort());
// A reader that went away (`stockify watch 13 | head -1`) ends the command
// as Ctrl-C does, quietly and with status 0, as other shell tools do.
let readerGone = false;
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  readerGone = true;
  interrupt.abort();
});
const program = createProgram({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  interrupt: interrupt.signal,
  setExitCode: (code) => (process.exitCode = code),
});
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the usage error or the help already.
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`stockify: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
if (readerGone) process.exitCode = 0;
