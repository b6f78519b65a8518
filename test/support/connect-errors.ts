import assert from "node:assert/strict";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * expectCode asserts that a call fails with a ConnectError of the given code
 * and returns the error for further checks.
 */
export async function expectCode(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await promise.then(
    () => assert.fail(`expected ${Code[code]}, the call succeeded`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectError, `expected a ConnectError, got ${String(error)}`);
  assert.equal(error.code, code, `expected ${Code[code]}, got ${Code[error.code]}: ${error.message}`);
  return error;
}
