import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { callIdentityKey } from "../pipeline/call-identity.js";
import type { Scope } from "../pipeline/service-registry.js";
import type { TokenIdentity, TokenRegistry } from "./tokens.js";

/**
 * AuthOptions configure the bearer-token check every call passes through.
 */
export interface AuthOptions {
  /** The configured tokens. */
  tokens: TokenRegistry;
  /**
   * Scope each service requires, by fully-qualified service name. A service
   * that is neither here nor open needs a valid token of any scope.
   * Default: none.
   */
  requiredScopes?: ReadonlyMap<string, Scope>;
  /** Services anyone may call without a token (health, reflection). Default: none. */
  openServices?: ReadonlySet<string>;
  /** Realm named in `WWW-Authenticate` challenges. Default "stockify". */
  realm?: string;
}

/** Header a REST layer copies to a 401/403 response; carried in the error's metadata. */
export const WWW_AUTHENTICATE = "www-authenticate";

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * createAuthInterceptor returns the interceptor that admits a call only
 * with an `authorization: Bearer <token>` header naming a configured token
 * that carries the scope the service requires.
 *
 * A missing or unknown token is UNAUTHENTICATED (HTTP 401), a known token
 * without the scope PERMISSION_DENIED (HTTP 403); both carry an RFC 6750
 * `WWW-Authenticate` challenge in their metadata, which the Connect protocol
 * sends as a response header and the REST layer copies. Errors never quote
 * the token.
 */
export function createAuthInterceptor(options: AuthOptions): Interceptor {
  const { tokens } = options;
  const requiredScopes = options.requiredScopes ?? new Map<string, Scope>();
  const openServices = options.openServices ?? new Set<string>();
  const realm = options.realm ?? "stockify";
  return (next) => async (req) => {
    const service = req.service.typeName;
    if (openServices.has(service)) return next(req);
    const identity = authorize(tokens, req.header.get("authorization"), requiredScopes.get(service), realm);
    req.contextValues.set(callIdentityKey, identity);
    return next(req);
  };
}

/**
 * AuthGate tells from a call's headers alone whether auth refuses it: the
 * error the auth interceptor would throw, or undefined when it admits the
 * call. Lanes ask it before they read a request's body, so a call without
 * the right token costs no reading, decompressing or decoding.
 */
export type AuthGate = (service: string, authorization: string | null | undefined) => ConnectError | undefined;

/**
 * createAuthGate returns the AuthGate that decides exactly as
 * createAuthInterceptor with the same options does.
 */
export function createAuthGate(options: AuthOptions): AuthGate {
  const { tokens } = options;
  const requiredScopes = options.requiredScopes ?? new Map<string, Scope>();
  const openServices = options.openServices ?? new Set<string>();
  const realm = options.realm ?? "stockify";
  return (service, authorization) => {
    if (openServices.has(service)) return undefined;
    try {
      authorize(tokens, authorization, requiredScopes.get(service), realm);
      return undefined;
    } catch (error) {
      return error as ConnectError;
    }
  };
}

/**
 * authorize returns the identity of the bearer token in an `authorization`
 * header value when it is configured and carries `scope` (any scope when
 * undefined), and throws the UNAUTHENTICATED or PERMISSION_DENIED error to
 * answer with otherwise.
 */
export function authorize(
  tokens: TokenRegistry,
  authorization: string | null | undefined,
  scope: Scope | undefined,
  realm = "stockify",
): TokenIdentity {
  const match = BEARER.exec(authorization ?? "");
  if (match === null) {
    throw new ConnectError("missing bearer token", Code.Unauthenticated, {
      [WWW_AUTHENTICATE]: `Bearer realm="${realm}"`,
    });
  }
  const identity = tokens.authenticate(match[1]!);
  if (identity === undefined) {
    throw new ConnectError("invalid bearer token", Code.Unauthenticated, {
      [WWW_AUTHENTICATE]: `Bearer realm="${realm}", error="invalid_token"`,
    });
  }
  if (scope !== undefined && !identity.scopes.has(scope)) {
    throw new ConnectError(`token lacks the "${scope}" scope`, Code.PermissionDenied, {
      [WWW_AUTHENTICATE]: `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"`,
    });
  }
  return identity;
}
