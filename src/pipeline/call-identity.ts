import { createContextKey } from "@connectrpc/connect";
import type { Scope } from "./service-registry.js";

/**
 * CallIdentity is who made a call, as far as the pipeline may tell: a
 * fingerprint that is safe to log, never the credential itself.
 */
export interface CallIdentity {
  /** Names the caller's credential in logs without revealing it. */
  readonly fingerprint: string;
  /** What the credential allows; undefined when it says nothing of scopes. */
  readonly scopes?: ReadonlySet<Scope>;
}

/**
 * callIdentityKey holds the identity a call was authenticated with, for
 * logs and metrics further down the chain; undefined for open services and
 * when auth is off. Auth sets it; the observer reads it.
 */
export const callIdentityKey = createContextKey<CallIdentity | undefined>(undefined, {
  description: "identity of the credential that authenticated the call",
});
