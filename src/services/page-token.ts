import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * PageCursor is where the next page of a query starts, with the time range
 * the first page resolved (a missing end_time meant "now" once, not at every
 * page), so that every page reads the same range.
 */
export interface PageCursor {
  /** The last item returned: a bar's start or a tick's sequence number. */
  readonly after: number;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * encodePageToken makes the opaque token of a cursor: base64url of the
 * cursor and a hash of the query it belongs to and of the cursor itself,
 * so that a token reused with another query, or altered, is refused.
 */
export function encodePageToken(queryKey: string, cursor: PageCursor): string {
  const fields = [cursor.after, cursor.startMs, cursor.endMs];
  return Buffer.from(JSON.stringify([digest(queryKey, fields), ...fields])).toString("base64url");
}

/**
 * decodePageToken returns the cursor of a token made for the same query, or
 * throws INVALID_ARGUMENT.
 */
export function decodePageToken(token: string, queryKey: string): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 4 &&
    typeof parsed[0] === "string" &&
    parsed.slice(1).every((n) => Number.isSafeInteger(n))
  ) {
    const fields = parsed.slice(1) as number[];
    if (parsed[0] === digest(queryKey, fields)) return { after: fields[0]!, startMs: fields[1]!, endMs: fields[2]! };
  }
  throw new ConnectError("page_token is not a next_page_token of this query (the other fields must stay the same between pages)", Code.InvalidArgument);
}

function digest(queryKey: string, fields: readonly number[]): string {
  return createHash("sha256").update(`${queryKey}|${fields.join("|")}`).digest("base64url").slice(0, 16);
}
