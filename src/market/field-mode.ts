/**
 * FieldMode is how much of a snapshot a subscription wants, after the
 * modes of exchange tickers: "ltp" (the last price, its sequence and time),
 * "quote" (the whole snapshot) or "full" (the quote with market depth).
 */
export type FieldMode = "ltp" | "quote" | "full";
