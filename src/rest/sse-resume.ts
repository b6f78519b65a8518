import { isMessage, type Message } from "@bufbuild/protobuf";
import { SubscribeSnapshotsResponseSchema } from "../gen/stockify/v1/market_data_service_pb.js";

/**
 * SSE_RETRY_MS is the reconnection delay an SSE stream asks of an
 * EventSource, sent once as its first line: short, since a reconnect after
 * a gateway restart resumes where the stream stopped.
 */
export const SSE_RETRY_MS = 1000;

/**
 * SnapshotPosition is where an SSE stream stood: the last snapshot it sent,
 * as its symbol and that symbol's sequence.
 */
export interface SnapshotPosition {
  readonly symbolId: number;
  readonly sequence: bigint;
}

/**
 * sseEventId is the SSE `id` of a stream message: `<symbol_id>.<sequence>`
 * for a snapshot, which an EventSource sends back as `Last-Event-ID` when it
 * reconnects; undefined for a message that moves no sequence (a heartbeat),
 * so that the last id stays the last snapshot's. It derives from the
 * message alone, so it lives in the message's shared bytes.
 */
export function sseEventId(message: Message): string | undefined {
  if (!isMessage(message, SubscribeSnapshotsResponseSchema) || message.event.case !== "snapshot") return undefined;
  const { symbolId, sequence } = message.event.value;
  return `${symbolId}.${sequence}`;
}

/**
 * parseLastEventId reads a `Last-Event-ID` header written by sseEventId;
 * anything else (absent, from another server, garbled) is no position,
 * which resumes like a new stream.
 */
export function parseLastEventId(header: string | string[] | undefined): SnapshotPosition | undefined {
  const match = typeof header === "string" ? /^(\d{1,10})\.(\d{1,20})$/.exec(header.trim()) : null;
  if (match === null) return undefined;
  const symbolId = Number(match[1]);
  return symbolId > 0xffffffff ? undefined : { symbolId, sequence: BigInt(match[2]!) };
}

/**
 * createResumeFilter returns the test a resumed stream puts its messages
 * through: a subscription starts with the current snapshot of every
 * symbol, and the one the caller last saw is dropped if its sequence has
 * not moved since. Every other symbol is sent, since the caller cannot say
 * which of their updates it saw; so a reconnect leaves no gap the caller
 * cannot see. The filter answers true for everything after that symbol's
 * first snapshot went by, and `done` says so.
 */
export function createResumeFilter(position: SnapshotPosition): { keep(message: Message): boolean; readonly done: boolean } {
  let done = false;
  return {
    keep(message) {
      if (done || !isMessage(message, SubscribeSnapshotsResponseSchema) || message.event.case !== "snapshot") return true;
      const snapshot = message.event.value;
      if (snapshot.symbolId !== position.symbolId) return true;
      done = true;
      return snapshot.sequence !== position.sequence;
    },
    get done() {
      return done;
    },
  };
}
