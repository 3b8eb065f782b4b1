import type { Config } from "../config";

/** US dollars per million tokens. */
export interface Prices {
  input: number;
  cached: number;
  output: number;
}

export function pricesFrom(config: Config): Prices {
  return {
    input: config.FOLIO_PRICE_INPUT_PER_M,
    cached: config.FOLIO_PRICE_CACHED_PER_M,
    output: config.FOLIO_PRICE_OUTPUT_PER_M,
  };
}

/** Cached prompt tokens are billed at the cached rate, the rest of the prompt at the input rate. */
export function costOf(
  prices: Prices,
  promptTokens: number,
  cachedTokens: number,
  completionTokens: number,
): number {
  const freshPrompt = Math.max(0, promptTokens - cachedTokens);
  return (
    (freshPrompt * prices.input + cachedTokens * prices.cached + completionTokens * prices.output) / 1_000_000
  );
}
