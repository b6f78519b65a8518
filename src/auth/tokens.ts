import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Scope } from "../pipeline/service-registry.js";

/** Every scope a token may carry, in the order the docs list them. */
export const SCOPES: readonly Scope[] = ["read", "write", "admin"];

/**
 * TokenGrant is one configured bearer token and the scopes it carries.
 */
export interface TokenGrant {
  readonly token: string;
  readonly scopes: ReadonlySet<Scope>;
}

// RFC 6750's b64token: what a client can put after "Bearer ".
const TOKEN_CHARACTERS = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * TokenSpecError says what is wrong with a token list, without quoting the
 * token (it is a secret).
 */
export class TokenSpecError extends Error {
  override readonly name = "TokenSpecError";
}

/**
 * parseTokenGrants reads `token:scope+scope` entries, separated by commas or
 * newlines; blank entries and `#` comment lines are skipped. Errors name the
 * entry by its position, never by its token.
 */
export function parseTokenGrants(text: string): TokenGrant[] {
  const grants: TokenGrant[] = [];
  const seen = new Set<string>();
  const entries = text
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "" && !entry.startsWith("#"));
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new TokenSpecError(`${where} must look like token:scope+scope`);
    const token = entry.slice(0, colon).trim();
    if (!TOKEN_CHARACTERS.test(token)) {
      throw new TokenSpecError(`${where}: a token may hold only letters, digits and - . _ ~ + / (then = padding)`);
    }
    const scopes = new Set<Scope>();
    for (const raw of entry.slice(colon + 1).split("+")) {
      const scope = raw.trim().toLowerCase();
      if (!(SCOPES as readonly string[]).includes(scope)) {
        throw new TokenSpecError(`${where}: unknown scope "${raw.trim()}" (known: ${SCOPES.join(", ")})`);
      }
      scopes.add(scope as Scope);
    }
    if (seen.has(token)) throw new TokenSpecError(`${where}: the same token is listed twice`);
    seen.add(token);
    grants.push({ token, scopes });
  });
  return grants;
}

/**
 * loadTokenGrants gives the gateway's tokens: the inline ones (AUTH_TOKENS)
 * followed by those the tokens file (AUTH_TOKENS_FILE) lists, when there is
 * one. Start-up and every reload of the file go through here, so a reload
 * refuses what start-up refuses. Errors are TokenSpecErrors that name the
 * variable at fault, never a token.
 */
export function loadTokenGrants(inline: readonly TokenGrant[], file: string | undefined): TokenGrant[] {
  if (file === undefined) return [...inline];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new TokenSpecError(`AUTH_TOKENS_FILE names a file that cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let fromFile: TokenGrant[];
  try {
    fromFile = parseTokenGrants(text);
  } catch (error) {
    throw error instanceof TokenSpecError ? new TokenSpecError(`AUTH_TOKENS_FILE: ${error.message}`) : error;
  }
  const inlineTokens = new Set(inline.map((grant) => grant.token));
  if (fromFile.some((grant) => inlineTokens.has(grant.token))) {
    throw new TokenSpecError("AUTH_TOKENS_FILE repeats a token that AUTH_TOKENS already lists");
  }
  return [...inline, ...fromFile];
}

/**
 * TokenIdentity is who a presented token turned out to be: its scopes and a
 * fingerprint that is safe to log.
 */
export interface TokenIdentity {
  readonly scopes: ReadonlySet<Scope>;
  /** First 12 hex digits of the token's SHA-256: names it in logs without revealing it. */
  readonly fingerprint: string;
}

/**
 * TokenRegistry checks presented bearer tokens against the configured ones
 * in constant time.
 *
 * Tokens are kept only as SHA-256 digests; a presented token is hashed and
 * compared with every digest using `timingSafeEqual`, without stopping at
 * the first match, so neither a token's content nor its position in the list
 * shows in the response time.
 */
export class TokenRegistry {
  private entries: { digest: Buffer; identity: TokenIdentity }[] = [];

  constructor(grants: readonly TokenGrant[]) {
    this.replace(grants);
  }

  /** replace swaps in a new set of tokens, as one step: a call sees the old set or the new one. */
  replace(grants: readonly TokenGrant[]): void {
    this.entries = grants.map(({ token, scopes }) => {
      const digest = sha256(token);
      return { digest, identity: { scopes, fingerprint: digest.toString("hex", 0, 6) } };
    });
  }

  /** Number of configured tokens. */
  get size(): number {
    return this.entries.length;
  }

  /** authenticate returns the identity of a configured token, or undefined. */
  authenticate(token: string): TokenIdentity | undefined {
    const presented = sha256(token);
    let found: TokenIdentity | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented)) found = entry.identity;
    }
    return found;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
