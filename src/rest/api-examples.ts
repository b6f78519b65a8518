/**
 * API_EXAMPLES are example values of the API's messages in proto3 JSON, by
 * fully-qualified type name, for the OpenAPI document: what a caller sees
 * of NIFTY 50 on an ordinary day.
 */
export const API_EXAMPLES: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  [
    "stockify.v1.Snapshot",
    {
      symbolId: 13,
      symbol: "NIFTY 50",
      ltp: 24352.8,
      open: 24310,
      high: 24388.45,
      low: 24295.1,
      close: 24301.6,
      volume: "18250",
      bid: 24352.75,
      ask: 24352.85,
      bidSize: "150",
      askSize: "75",
      sequence: "412",
      exchangeTime: "2026-01-02T09:15:00.250Z",
    },
  ],
  ["stockify.v1.SymbolInfo", { symbolId: 13, symbol: "NIFTY 50" }],
  ["stockify.v1.Tick", { symbolId: 13, symbol: "NIFTY 50", ltp: 24352.8, volume: "25", exchangeTime: "2026-01-02T09:15:00.250Z" }],
  ["stockify.v1.Heartbeat", { serverTime: "2026-01-02T09:15:15Z" }],
]);
