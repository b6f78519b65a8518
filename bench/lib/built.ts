import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/**
 * importBuilt imports a module of the gateway as `npm start` and the
 * container run it: compiled by tsc into dist/, not transformed on the
 * fly from src/. The two are not the same program: tsx's transform keeps
 * function names with a helper call for every closure it makes, which
 * cost the bench's peers up to a tenth of their time per call.
 *
 * `path` is the module's path under src/, with a .js extension. It
 * refuses a build older than its sources (run `npm run build`).
 */
export async function importBuilt<M>(path: string): Promise<M> {
  assertBuildCurrent();
  return (await import(pathToFileURL(join(DIST, path)).href)) as M;
}

let checked = false;

function assertBuildCurrent(): void {
  if (checked) return;
  const stale: string[] = [];
  for (const source of sources(SRC)) {
    const built = join(DIST, relative(SRC, source).replace(/\.ts$/, ".js"));
    let builtAt: number;
    try {
      builtAt = statSync(built).mtimeMs;
    } catch {
      stale.push(`${built} is missing`);
      continue;
    }
    if (builtAt < statSync(source).mtimeMs) stale.push(`${built} is older than ${source}`);
  }
  if (stale.length > 0) throw new Error(`the gateway's build is not current (run \`npm run build\`): ${stale.slice(0, 3).join("; ")}`);
  checked = true;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) yield path;
  }
}
