import { Nanos } from "../money";
import { CatalogEntry, CatalogPrices } from "./price-catalog";

/** Prices and limits an operator gives for a new model config; undefined means not given. */
export interface GivenModelPrices {
  inputPrice?: Nanos;
  outputPrice?: Nanos;
  cacheReadPrice?: Nanos;
  cacheWritePrice?: Nanos;
  cacheWrite1hPrice?: Nanos;
  /** Null is an explicit choice: reasoning tokens are billed as output. */
  reasoningPrice?: Nanos | null;
  contextWindow?: number | null;
  maxOutputTokens?: number | null;
}

/** Every price and limit of a model config, after the catalog filled what was not given. */
export type FilledModelPrices = CatalogPrices & {
  contextWindow: number | null;
  maxOutputTokens: number | null;
};

/** The fields of a new model config whose values came from the price catalog. */
export type CatalogFilledField = keyof FilledModelPrices;

/** Provenance of the catalog values a new model config took: the catalog model, its price page and date. */
export interface CatalogPriceSource {
  /** The catalog model whose prices were used. */
  model: string;
  /** The provider's price page. */
  source: string;
  /** The date the catalog prices were last checked, as YYYY-MM-DD. */
  pricesCheckedOn: string;
  /** The fields that took the catalog's value because the operator gave none. */
  fields: CatalogFilledField[];
  notes: string | null;
}

export type ModelPriceFill =
  | {
      ok: true;
      values: FilledModelPrices;
      /** Null when no field took a catalog value. */
      priceSource: CatalogPriceSource | null;
    }
  | { ok: false; missing: ("inputPrice" | "outputPrice")[] };

const FIELDS: CatalogFilledField[] = [
  "inputPrice",
  "outputPrice",
  "cacheReadPrice",
  "cacheWritePrice",
  "cacheWrite1hPrice",
  "reasoningPrice",
  "contextWindow",
  "maxOutputTokens",
];

/**
 * Completes the prices and limits of a new model config. A given value always wins; a value not given takes the
 * catalog entry's value. Without an entry, the input and output prices must be given; the other prices default
 * to 0, the reasoning price and the limits to null.
 */
export function fillModelPrices(
  given: GivenModelPrices,
  entry: CatalogEntry | null,
): ModelPriceFill {
  if (!entry) {
    return fillWithoutCatalog(given);
  }

  const fromCatalog: FilledModelPrices = {
    ...entry.prices,
    contextWindow: entry.contextWindow,
    maxOutputTokens: entry.maxOutputTokens,
  };
  const values = { ...fromCatalog };
  const fields: CatalogFilledField[] = [];
  for (const field of FIELDS) {
    const value = given[field];
    if (value !== undefined) {
      (values as Record<string, unknown>)[field] = value;
    } else if (fromCatalog[field] !== null) {
      fields.push(field);
    }
  }

  const priceSource =
    fields.length === 0
      ? null
      : {
          model: entry.model,
          source: entry.source,
          pricesCheckedOn: entry.pricesCheckedOn,
          fields,
          notes: entry.notes,
        };
  return { ok: true, values, priceSource };
}

function fillWithoutCatalog(given: GivenModelPrices): ModelPriceFill {
  if (given.inputPrice === undefined || given.outputPrice === undefined) {
    const missing = (["inputPrice", "outputPrice"] as const).filter(
      (field) => given[field] === undefined,
    );
    return { ok: false, missing };
  }

  return {
    ok: true,
    values: {
      inputPrice: given.inputPrice,
      outputPrice: given.outputPrice,
      cacheReadPrice: given.cacheReadPrice ?? 0n,
      cacheWritePrice: given.cacheWritePrice ?? 0n,
      cacheWrite1hPrice: given.cacheWrite1hPrice ?? 0n,
      reasoningPrice: given.reasoningPrice ?? null,
      contextWindow: given.contextWindow ?? null,
      maxOutputTokens: given.maxOutputTokens ?? null,
    },
    priceSource: null,
  };
}
