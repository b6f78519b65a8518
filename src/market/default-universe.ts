/**
 * SimulatedSymbol is one instrument the simulator trades.
 */
export interface SimulatedSymbol {
  readonly symbolId: number;
  readonly symbol: string;
  /** Price the simulation starts from. */
  readonly basePrice: number;
  /** Smallest price step. */
  readonly tickSize: number;
}

/** The indices every deployment's clients ask for first. */
export const INDEX_SYMBOLS: readonly SimulatedSymbol[] = [
  { symbolId: 13, symbol: "NIFTY 50", basePrice: 24350, tickSize: 0.05 },
  { symbolId: 25, symbol: "BANK NIFTY", basePrice: 52100, tickSize: 0.05 },
  { symbolId: 27, symbol: "FIN NIFTY", basePrice: 23850, tickSize: 0.05 },
];

/** First id given to synthetic symbols, clear of the index ids. */
export const FIRST_SYNTHETIC_ID = 1001;

/**
 * defaultUniverse returns the indices plus `syntheticCount` synthetic
 * equities with stable, id-derived names and prices.
 */
export function defaultUniverse(syntheticCount: number): SimulatedSymbol[] {
  const symbols = [...INDEX_SYMBOLS];
  for (let i = 0; i < syntheticCount; i++) {
    const symbolId = FIRST_SYNTHETIC_ID + i;
    // A fixed spread of prices between 50 and 5,000, the same on every run.
    const basePrice = Math.round(50 + ((symbolId * 7919) % 4950));
    symbols.push({ symbolId, symbol: `SYN${symbolId}`, basePrice, tickSize: 0.05 });
  }
  return symbols;
}
