import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, isFieldSet, toBinary } from "@bufbuild/protobuf";
import { SubscribeSnapshotsResponseSchema } from "../../src/gen/stockify/v1/market_data_service_pb.js";
import { SnapshotSchema, TickSchema, type Snapshot as SnapshotMessage } from "../../src/gen/stockify/v1/snapshot_pb.js";
import type { FieldMode } from "../../src/market/field-mode.js";
import { foldTick, type MarketDepth, type Snapshot } from "../../src/market/snapshot.js";
import { snapshotMessage, tickFromMessage } from "../../src/services/snapshot-messages.js";

const BOOK: MarketDepth = {
  bids: [
    { price: 24350.5, quantity: 1275, orders: 9 },
    { price: 24350.45, quantity: 3400, orders: 17 },
    { price: 24350.35, quantity: 850, orders: 5 },
    { price: 24350.3, quantity: 2125, orders: 12 },
    { price: 24350.25, quantity: 475, orders: 3 },
  ],
  asks: [
    { price: 24350.6, quantity: 950, orders: 6 },
    { price: 24350.65, quantity: 4025, orders: 20 },
    { price: 24350.7, quantity: 1600, orders: 11 },
    { price: 24350.8, quantity: 300, orders: 2 },
    { price: 24350.85, quantity: 2750, orders: 14 },
  ],
};

/** A NIFTY 50 snapshot as it looks mid-session: every field set, a full book. */
const TYPICAL: Snapshot = {
  symbolId: 13,
  symbol: "NIFTY 50",
  ltp: 24350.55,
  open: 24310.1,
  high: 24388.65,
  low: 24297.4,
  close: 24302.85,
  volume: 12_345_675,
  bid: 24350.5,
  ask: 24350.6,
  bidSize: 1275,
  askSize: 950,
  sequence: 184_203,
  exchangeTimeMs: Date.UTC(2026, 0, 5, 9, 15, 3, 127),
  depth: BOOK,
};

const LTP_FIELDS = ["symbol_id", "ltp", "sequence", "exchange_time"];
const ALL_FIELDS = SnapshotSchema.fields.map((f) => f.name);
const EXPECTED: Record<FieldMode, string[]> = {
  ltp: LTP_FIELDS,
  quote: ALL_FIELDS.filter((name) => name !== "depth"),
  full: ALL_FIELDS,
};

function setFields(message: SnapshotMessage): string[] {
  return SnapshotSchema.fields.filter((f) => isFieldSet(message, f)).map((f) => f.name);
}

describe("snapshotMessage", () => {
  for (const mode of ["ltp", "quote", "full"] as const) {
    it(`carries exactly the ${mode.toUpperCase()} fields`, () => {
      const message = snapshotMessage(TYPICAL, mode);
      assert.deepEqual(setFields(message), EXPECTED[mode]);
      assert.equal(message.symbolId, 13);
      assert.equal(message.ltp, 24350.55);
      assert.equal(message.sequence, 184_203n);
    });
  }

  it("sends a quote when no mode is named, as the API's unspecified mode does", () => {
    const fresh = foldTick(undefined, { symbolId: 1, ltp: 10, symbol: "ONE" }, 1000);
    assert.equal(snapshotMessage(fresh), snapshotMessage(fresh, "quote"));
  });

  it("carries the whole book in FULL, and an empty book rather than none before a tick gives one", () => {
    const full = snapshotMessage(TYPICAL, "full");
    assert.deepEqual(
      full.depth!.bids.map((l) => [l.price, l.quantity, l.orders]),
      BOOK.bids.map((l) => [l.price, BigInt(l.quantity), l.orders]),
    );
    assert.deepEqual(
      full.depth!.asks.map((l) => [l.price, l.quantity, l.orders]),
      BOOK.asks.map((l) => [l.price, BigInt(l.quantity), l.orders]),
    );
    const bookless = snapshotMessage(foldTick(undefined, { symbolId: 2, ltp: 10 }, 1000), "full");
    assert.ok(bookless.depth !== undefined);
    assert.deepEqual([bookless.depth.bids.length, bookless.depth.asks.length], [0, 0]);
  });

  it("freezes the shared message all the way down, so what is derived from it may be kept", () => {
    const full = snapshotMessage({ ...TYPICAL }, "full");
    for (const part of [full, full.exchangeTime, full.depth, full.depth!.bids, full.depth!.asks, full.depth!.bids[0], full.depth!.asks[0]]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      (full as { ltp: number }).ltp = 1;
    }, TypeError);
    assert.ok(Object.isFrozen(snapshotMessage({ ...TYPICAL }, "ltp")));
  });

  it("converts each snapshot once per mode", () => {
    const snapshot = { ...TYPICAL };
    for (const mode of ["ltp", "quote", "full"] as const) {
      assert.equal(snapshotMessage(snapshot, mode), snapshotMessage(snapshot, mode));
    }
    assert.notEqual(snapshotMessage(snapshot, "ltp"), snapshotMessage(snapshot, "quote"));
  });

  it("makes LTP the smallest message and FULL the largest, and records their sizes", (t) => {
    const sizes = (["ltp", "quote", "full"] as const).map((mode) => {
      const snapshot = toBinary(SnapshotSchema, snapshotMessage(TYPICAL, mode)).length;
      const response = toBinary(
        SubscribeSnapshotsResponseSchema,
        create(SubscribeSnapshotsResponseSchema, { event: { case: "snapshot", value: snapshotMessage(TYPICAL, mode) } }),
      ).length;
      t.diagnostic(`${mode.toUpperCase()}: Snapshot ${snapshot} bytes, SubscribeSnapshotsResponse ${response} bytes`);
      return snapshot;
    });
    const [ltp, quote, full] = sizes as [number, number, number];
    assert.ok(ltp < quote && quote < full, sizes.join(" < "));
    // Tags included: 2 for the id, 9 for the price, 4 for the sequence, 13 for a millisecond timestamp.
    assert.ok(ltp <= 30, `LTP takes ${ltp} bytes`);
  });
});

describe("tickFromMessage", () => {
  it("carries a producer's book into the domain tick, and no book when the tick has none", () => {
    const message = create(TickSchema, {
      symbolId: 13,
      ltp: 24350.55,
      depth: {
        bids: [{ price: 24350.5, quantity: 1275n, orders: 9 }],
        asks: [{ price: 24350.6, quantity: 950n, orders: 6 }, { price: 24350.65, quantity: 0n, orders: 0 }],
      },
    });
    assert.deepEqual(tickFromMessage(message).depth, {
      bids: [{ price: 24350.5, quantity: 1275, orders: 9 }],
      asks: [
        { price: 24350.6, quantity: 950, orders: 6 },
        { price: 24350.65, quantity: 0, orders: 0 },
      ],
    });
    assert.equal(tickFromMessage(create(TickSchema, { symbolId: 13, ltp: 1 })).depth, undefined);
  });
});
