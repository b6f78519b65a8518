/**
 * UnknownSymbolError is thrown when a request names symbols the market has
 * no snapshot for.
 */
export class UnknownSymbolError extends Error {
  override readonly name = "UnknownSymbolError";
  constructor(readonly symbolIds: readonly number[]) {
    super(`unknown symbol${symbolIds.length === 1 ? "" : "s"}: ${symbolIds.join(", ")}`);
  }
}

/**
 * InvalidTickError is thrown for a tick that cannot be applied.
 */
export class InvalidTickError extends Error {
  override readonly name = "InvalidTickError";
}

/**
 * SymbolRightsError is thrown for a tick that would create or rename a
 * symbol, sent by a producer that may not.
 */
export class SymbolRightsError extends Error {
  override readonly name = "SymbolRightsError";
}

/**
 * SlowConsumerError ends a stream whose reader fell too far behind, when the
 * overflow policy is to close rather than conflate.
 */
export class SlowConsumerError extends Error {
  override readonly name = "SlowConsumerError";
  constructor(readonly bufferSize: number) {
    super(`stream fell more than ${bufferSize} updates behind and was closed`);
  }
}

/**
 * StoreUnavailableError is thrown when the backing store cannot be reached.
 */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}
