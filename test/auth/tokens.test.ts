import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadTokenGrants, parseTokenGrants, TokenRegistry, TokenSpecError } from "../../src/auth/tokens.js";

describe("parseTokenGrants", () => {
  it("reads comma- and newline-separated token:scope+scope entries, skipping comments", () => {
    const grants = parseTokenGrants("t1:read, t2:read+write\n# ops team\n\nt3:WRITE\n");
    assert.deepEqual(
      grants.map((grant) => [grant.token, [...grant.scopes]]),
      [
        ["t1", ["read"]],
        ["t2", ["read", "write"]],
        ["t3", ["write"]],
      ],
    );
  });

  it("rejects unknown scopes, missing scopes, odd characters and repeats without quoting the token", () => {
    for (const [text, message] of [
      ["secret-1:root", /entry 1: unknown scope "root" \(known: read, write, admin\)/],
      ["secret-1", /entry 1 must look like token:scope\+scope/],
      ["t1:read,secret 2:read", /entry 2: a token may hold only/],
      ["secret-1:read,secret-1:write", /entry 2: the same token is listed twice/],
    ] as const) {
      assert.throws(
        () => parseTokenGrants(text),
        (error: Error) => error instanceof TokenSpecError && message.test(error.message) && !error.message.includes("secret"),
        text,
      );
    }
  });
});

describe("TokenRegistry", () => {
  const registry = new TokenRegistry(parseTokenGrants("alpha-token:read,beta-token:read+write"));

  it("knows configured tokens and their scopes", () => {
    assert.deepEqual([...registry.authenticate("beta-token")!.scopes], ["read", "write"]);
    assert.deepEqual([...registry.authenticate("alpha-token")!.scopes], ["read"]);
  });

  it("refuses unknown tokens, prefixes and extensions of known ones", () => {
    for (const token of ["", "alpha", "alpha-token-x", "ALPHA-TOKEN", "gamma"]) {
      assert.equal(registry.authenticate(token), undefined, token);
    }
  });

  it("names a token by a fingerprint that does not reveal it", () => {
    const { fingerprint } = registry.authenticate("alpha-token")!;
    assert.match(fingerprint, /^[0-9a-f]{12}$/);
    assert.notEqual(fingerprint, registry.authenticate("beta-token")!.fingerprint);
  });
});

describe("loadTokenGrants", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stockify-tokens-"));
  });
  after(() => rm(dir, { recursive: true }));

  const inline = parseTokenGrants("env-secret:read");

  it("puts the inline tokens first, then the file's", async () => {
    const file = join(dir, "tokens");
    await writeFile(file, "# rotated monthly\nfile-secret:read+write\n");
    assert.deepEqual(
      loadTokenGrants(inline, file).map((grant) => grant.token),
      ["env-secret", "file-secret"],
    );
    assert.deepEqual(loadTokenGrants(inline, undefined).map((grant) => grant.token), ["env-secret"]);
  });

  it("refuses a file that repeats an inline token, a file it cannot read, and a bad entry, naming the variable", async () => {
    const repeats = join(dir, "repeats");
    await writeFile(repeats, "env-secret:write\n");
    const broken = join(dir, "broken");
    await writeFile(broken, "other-secret:read,broken-entry\n");
    for (const [file, message] of [
      [repeats, /^AUTH_TOKENS_FILE repeats a token that AUTH_TOKENS already lists$/],
      [join(dir, "absent"), /^AUTH_TOKENS_FILE names a file that cannot be read: ENOENT$/],
      [broken, /^AUTH_TOKENS_FILE: entry 2 must look like token:scope\+scope$/],
    ] as const) {
      assert.throws(
        () => loadTokenGrants(inline, file),
        (error: Error) => error instanceof TokenSpecError && message.test(error.message) && !error.message.includes("secret"),
      );
    }
  });
});
