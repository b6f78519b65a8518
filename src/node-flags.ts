/**
 * GATEWAY_NODE_FLAGS are the V8 flags the gateway's process starts with
 * (`npm start`, the container's command); V8 reads them only at start-up.
 *
 * A young generation of at most 4 MiB per semi-space: left to itself, V8
 * grows it to tens of MiB while a fan-out keeps snapshots alive for a few
 * milliseconds, and then every minor GC copies megabytes for tens of
 * milliseconds, which is the p99 of every stream and call in flight. The
 * README gives the bench run that shows both.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = Object.freeze(["--max-semi-space-size=4"]);
