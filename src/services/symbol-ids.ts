import { Code, ConnectError } from "@connectrpc/connect";

/**
 * checkSymbolIds rejects a list of symbol ids that is empty, longer than the
 * limit or holds 0, with INVALID_ARGUMENT; it returns the ids without
 * duplicates, in first-seen order.
 */
export function checkSymbolIds(ids: readonly number[], limit: number, field = "symbol_ids"): number[] {
  if (ids.length === 0) {
    throw new ConnectError(`${field} must name at least one symbol`, Code.InvalidArgument);
  }
  if (ids.length > limit) {
    throw new ConnectError(`${field} names ${ids.length} symbols; the limit is ${limit}`, Code.InvalidArgument);
  }
  if (ids.includes(0)) {
    throw new ConnectError(`${field} must not contain 0`, Code.InvalidArgument);
  }
  return [...new Set(ids)];
}
