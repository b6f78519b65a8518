import { createHash } from "node:crypto";
import { isMessage, type Message } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { GetSnapshotResponseSchema } from "../gen/stockify/v1/market_data_service_pb.js";
import type { Snapshot } from "../gen/stockify/v1/snapshot_pb.js";
import { identityCache } from "../pipeline/identity-cache.js";

/**
 * CACHE_CONTROL is what a REST GET answer says to caches: keep it, but ask
 * again every time. Prices move by the millisecond, so no age is fresh, yet
 * a revalidation that ends in 304 saves the body.
 */
export const CACHE_CONTROL = "no-cache";

/**
 * entityTag is the strong ETag of a REST GET answer. A snapshot's tag is
 * its symbol, sequence and exchange time: the sequence moves with every
 * update, and the time tells apart two snapshots that reuse a sequence
 * after an in-memory store restarted. Any other answer is tagged by a hash
 * of its bytes, which is strong by construction.
 */
export function entityTag(message: Message, body: string): string {
  if (isMessage(message, GetSnapshotResponseSchema) && message.snapshot !== undefined) return snapshotTag(message.snapshot);
  return `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"`;
}

// A shared (frozen) snapshot message is tagged once, not once per read.
const snapshotTag = identityCache(
  ({ symbolId, sequence, exchangeTime }: Snapshot) => `"${symbolId}.${sequence}.${exchangeTime === undefined ? 0 : timestampMs(exchangeTime)}"`,
  { frozenOnly: true },
);

/**
 * ifNoneMatchHits tells whether an `If-None-Match` header names the tag,
 * by the weak comparison RFC 9110 prescribes for it (a `W/` prefix does not
 * matter), or is `*`.
 */
export function ifNoneMatchHits(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  for (const raw of header.split(",")) {
    const candidate = raw.trim();
    if (candidate === "*" || candidate === tag || candidate === `W/${tag}`) return true;
  }
  return false;
}
