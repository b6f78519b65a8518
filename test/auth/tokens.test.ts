import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTokenGrants, TokenRegistry, TokenSpecError } from "../../src/auth/tokens.js";

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
      ["secret-1:admin", /entry 1: unknown scope "admin"/],
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
