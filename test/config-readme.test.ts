import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfig } from "../src/config.js";

/** One row of the README's configuration table. */
interface DocumentedVariable {
  name: string;
  /** The documented default as an environment value, undefined for "(none)" and "unset". */
  value: string | undefined;
  row: string;
}

// The table under "## Configuration": rows of `| `NAME` | default | meaning |`.
function documentedVariables(): DocumentedVariable[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("\n## Configuration\n"), readme.indexOf("\n## ", readme.indexOf("\n## Configuration\n") + 1));
  const variables: DocumentedVariable[] = [];
  for (const row of section.split("\n")) {
    const cells = row.split("|").map((cell) => cell.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? "")?.[1];
    if (name === undefined) continue;
    const value = /^`([^`]*)`/.exec(cells[2] ?? "")?.[1];
    variables.push({ name, value, row });
  }
  return variables;
}

// Variables read only when another one is set: REDIS_KEY_PREFIX matters only with a Redis.
const NEEDS: Readonly<Record<string, Record<string, string>>> = {
  REDIS_KEY_PREFIX: { REDIS_URL: "redis://127.0.0.1:6379" },
  REDIS_TIMEOUT_MS: { REDIS_URL: "redis://127.0.0.1:6379" },
};

/** The variables loadConfig reads from an environment. */
function variablesRead(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  loadConfig(
    new Proxy(env, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return target[key as string];
      },
    }),
  );
  return read;
}

describe("the README's configuration table", () => {
  const documented = documentedVariables();

  it("lists every variable loadConfig reads, and only those", () => {
    const read = variablesRead({});
    for (const env of Object.values(NEEDS)) for (const name of variablesRead(env)) read.add(name);
    assert.deepEqual(documented.map((v) => v.name).sort(), [...read].sort());
  });

  it("gives each variable the default loadConfig uses when it is unset", () => {
    for (const { name, value, row } of documented) {
      const base = NEEDS[name] ?? {};
      // "(none)" and "unset" mean an empty value changes nothing.
      const explicit = loadConfig({ ...base, [name]: value ?? "" });
      assert.deepEqual(explicit, loadConfig(base), `${name}: the README says\n${row}`);
    }
  });
});
