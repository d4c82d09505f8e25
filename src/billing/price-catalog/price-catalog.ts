import { z } from "zod";

import { ProviderKind } from "../../providers/entities/provider.entity";
import { Nanos, parseUsd } from "../money";

const USD_TEXT = /^\d{1,12}(\.\d{1,9})?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const usd = z
  .string()
  .regex(USD_TEXT, "must be a decimal USD amount such as 2.50")
  .transform((text) => parseUsd(text));
const tokens = z.number().int().positive().max(100_000_000);
const modelName = z.string().min(1).max(200);

const entrySchema = z.strictObject({
  provider: z.enum([
    ProviderKind.OpenAi,
    ProviderKind.Anthropic,
    ProviderKind.Gemini,
  ]),
  model: modelName,
  aliases: z.array(modelName),
  snapshots: z.array(modelName),
  prices: z.strictObject({
    input: usd,
    output: usd,
    cacheRead: usd,
    cacheWrite: usd,
    cacheWrite1h: usd,
    reasoning: usd.nullable(),
  }),
  contextWindow: tokens.nullable(),
  maxOutputTokens: tokens.nullable(),
  source: z.url(),
  pricesCheckedOn: z.string().regex(ISO_DATE, "must be a date as YYYY-MM-DD"),
  notes: z.string().min(1).optional(),
});

const catalogSchema = z.strictObject({ models: z.array(entrySchema).min(1) });

/** Prices of one catalog model, in nano-dollars per million tokens. */
export interface CatalogPrices {
  inputPrice: Nanos;
  outputPrice: Nanos;
  cacheReadPrice: Nanos;
  /** Cache writes with the default (5 minute) lifetime. */
  cacheWritePrice: Nanos;
  cacheWrite1hPrice: Nanos;
  /** Null when the provider bills reasoning tokens as output. */
  reasoningPrice: Nanos | null;
}

/** A model with the prices its provider publishes, the price page and the date they were last checked. */
export interface CatalogEntry {
  provider: ProviderKind;
  /** The model id the provider documents; aliases and dated snapshots share its prices. */
  model: string;
  aliases: string[];
  snapshots: string[];
  prices: CatalogPrices;
  contextWindow: number | null;
  maxOutputTokens: number | null;
  /** The provider's price page. */
  source: string;
  /** The date the prices were last checked against `source`, as YYYY-MM-DD. */
  pricesCheckedOn: string;
  notes: string | null;
}

/** Raised when catalog data breaks the schema or names one model twice; the message names the entry. */
export class InvalidPriceCatalog extends Error {}

/**
 * Published prices of well-known models, looked up by provider kind and model name. A name matches the model
 * id, one of its aliases or one of its dated snapshots exactly. Any other name has no entry, a snapshot the
 * catalog does not list included, because providers sometimes price snapshots differently.
 */
export class PriceCatalog {
  private readonly byName = new Map<string, CatalogEntry>();

  constructor(readonly entries: readonly CatalogEntry[]) {
    for (const entry of entries) {
      for (const name of [entry.model, ...entry.aliases, ...entry.snapshots]) {
        const key = lookupKey(entry.provider, name);
        if (this.byName.has(key)) {
          throw new InvalidPriceCatalog(
            `The price catalog lists the ${entry.provider} model name '${name}' twice`,
          );
        }
        this.byName.set(key, entry);
      }
    }
  }

  /** Returns the entry for a model name served by a provider of `kind`, or null when the catalog has none. */
  find(kind: ProviderKind, name: string): CatalogEntry | null {
    return this.byName.get(lookupKey(kind, name.trim())) ?? null;
  }
}

function lookupKey(kind: ProviderKind, name: string): string {
  return `${kind}\u0000${name}`;
}

/**
 * Validates catalog data (decimal USD strings, converted exactly to nano-dollars) and indexes it. Throws
 * {@link InvalidPriceCatalog} naming the first bad entry and field.
 */
export function loadPriceCatalog(data: unknown): PriceCatalog {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidPriceCatalog(
      `Invalid price catalog at ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }

  return new PriceCatalog(
    parsed.data.models.map((entry) => ({
      provider: entry.provider,
      model: entry.model,
      aliases: entry.aliases,
      snapshots: entry.snapshots,
      prices: {
        inputPrice: entry.prices.input,
        outputPrice: entry.prices.output,
        cacheReadPrice: entry.prices.cacheRead,
        cacheWritePrice: entry.prices.cacheWrite,
        cacheWrite1hPrice: entry.prices.cacheWrite1h,
        reasoningPrice: entry.prices.reasoning,
      },
      contextWindow: entry.contextWindow,
      maxOutputTokens: entry.maxOutputTokens,
      source: entry.source,
      pricesCheckedOn: entry.pricesCheckedOn,
      notes: entry.notes ?? null,
    })),
  );
}
