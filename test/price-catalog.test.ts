import catalogData from "../src/billing/price-catalog/catalog.json";
import { BUNDLED_PRICE_CATALOG } from "../src/billing/price-catalog/bundled-catalog";
import { parseUsd } from "../src/billing/money";
import {
  InvalidPriceCatalog,
  loadPriceCatalog,
} from "../src/billing/price-catalog/price-catalog";
import { fillModelPrices } from "../src/billing/price-catalog/price-fill";
import { ProviderKind } from "../src/providers/entities/provider.entity";

/** Builds a valid catalog entry with the given fields replaced. */
function entry(overrides: Record<string, unknown> = {}) {
  return {
    provider: "anthropic",
    model: "claude-test-4-5",
    aliases: ["claude-test-latest"],
    snapshots: ["claude-test-4-5-20250929"],
    prices: {
      input: "3",
      output: "15.00",
      cacheRead: "0.30",
      cacheWrite: "3.75",
      cacheWrite1h: "6",
      reasoning: null,
    },
    contextWindow: 200000,
    maxOutputTokens: 64000,
    source: "https://example.invalid/pricing",
    pricesCheckedOn: "2026-12-04",
    ...overrides,
  };
}

describe("price catalog loader", () => {
  it("converts decimal USD exactly to nano-dollars", () => {
    const sut = loadPriceCatalog({
      models: [
        entry({
          prices: {
            input: "0.000000001",
            output: "99999.999999999",
            cacheRead: "0.075",
            cacheWrite: "0",
            cacheWrite1h: "1.6",
            reasoning: "12.5",
          },
        }),
      ],
    });

    const prices = sut.entries[0].prices;
    expect(prices.inputPrice).toBe(1n);
    expect(prices.outputPrice).toBe(99_999_999_999_999n);
    expect(prices.cacheReadPrice).toBe(75_000_000n);
    expect(prices.cacheWritePrice).toBe(0n);
    expect(prices.cacheWrite1hPrice).toBe(1_600_000_000n);
    expect(prices.reasoningPrice).toBe(12_500_000_000n);
  });

  it.each([
    ["a float price", { prices: { ...entry().prices, input: 2.5 } }, /input/],
    [
      "ten decimals",
      { prices: { ...entry().prices, output: "1.0000000001" } },
      /output/,
    ],
    ["an unknown kind", { provider: "azure" }, /provider/],
    ["a missing date", { pricesCheckedOn: undefined }, /pricesCheckedOn/],
    ["a malformed date", { pricesCheckedOn: "04.12.2026" }, /pricesCheckedOn/],
    ["a zero context window", { contextWindow: 0 }, /contextWindow/],
    ["an unknown field", { discount: "0.5" }, /discount|Unrecognized/],
    ["a source that is no URL", { source: "the web" }, /source/],
  ])("rejects %s", (_name, overrides, message) => {
    const load = () =>
      loadPriceCatalog({
        models: [entry(overrides)],
      });

    expect(load).toThrow(InvalidPriceCatalog);
    expect(load).toThrow(message);
  });

  it("rejects a model name listed twice", () => {
    const load = () =>
      loadPriceCatalog({
        models: [
          entry(),
          entry({
            model: "claude-other",
            aliases: [],
            snapshots: ["claude-test-4-5-20250929"],
          }),
        ],
      });

    expect(load).toThrow(InvalidPriceCatalog);
    expect(load).toThrow(/claude-test-4-5-20250929/);
  });

  it("allows one name under two provider kinds", () => {
    const sut = loadPriceCatalog({
      models: [entry(), entry({ provider: "openai" })],
    });

    expect(sut.find(ProviderKind.Anthropic, "claude-test-4-5")).not.toBe(null);
    expect(sut.find(ProviderKind.OpenAi, "claude-test-4-5")).not.toBe(null);
  });

  it("loads the bundled catalog", () => {
    expect(BUNDLED_PRICE_CATALOG.entries).toHaveLength(
      catalogData.models.length,
    );
    for (const item of BUNDLED_PRICE_CATALOG.entries) {
      expect(item.pricesCheckedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(item.source).toMatch(/^https:\/\//);
    }
  });
});

describe("price catalog lookup", () => {
  const sut = BUNDLED_PRICE_CATALOG;

  it("finds a model by id, alias and dated snapshot", () => {
    const byId = sut.find(ProviderKind.Anthropic, "claude-sonnet-4-5");
    const bySnapshot = sut.find(
      ProviderKind.Anthropic,
      "claude-sonnet-4-5-20250929",
    );
    const byAlias = sut.find(ProviderKind.Anthropic, "claude-3-5-haiku-latest");

    expect(byId?.model).toBe("claude-sonnet-4-5");
    expect(bySnapshot).toBe(byId);
    expect(byAlias?.snapshots).toContain("claude-3-5-haiku-20241022");
  });

  it("returns the published Anthropic cache prices", () => {
    const found = sut.find(ProviderKind.Anthropic, "claude-sonnet-4-5");

    expect(found?.prices).toEqual({
      inputPrice: parseUsd("3"),
      outputPrice: parseUsd("15"),
      cacheReadPrice: parseUsd("0.30"),
      cacheWritePrice: parseUsd("3.75"),
      cacheWrite1hPrice: parseUsd("6"),
      reasoningPrice: null,
    });
    expect(found?.pricesCheckedOn).toBe("2026-12-04");
  });

  it.each([
    ["an unknown model", ProviderKind.OpenAi, "gpt-unknown"],
    ["an unlisted snapshot", ProviderKind.OpenAi, "gpt-4o-2024-05-13"],
    ["another kind's model", ProviderKind.Gemini, "gpt-4o"],
    ["an Azure deployment", ProviderKind.Azure, "gpt-4o"],
    ["a different case", ProviderKind.OpenAi, "GPT-4o"],
  ])("has no entry for %s", (_name, kind, model) => {
    expect(sut.find(kind, model)).toBeNull();
  });
});

describe("price fill", () => {
  const gpt4oMini = BUNDLED_PRICE_CATALOG.find(
    ProviderKind.OpenAi,
    "gpt-4o-mini",
  );

  it("fills every price and limit left out", () => {
    const sut = fillModelPrices({}, gpt4oMini);

    expect(sut).toEqual({
      ok: true,
      values: {
        inputPrice: parseUsd("0.15"),
        outputPrice: parseUsd("0.60"),
        cacheReadPrice: parseUsd("0.075"),
        cacheWritePrice: 0n,
        cacheWrite1hPrice: 0n,
        reasoningPrice: null,
        contextWindow: 128000,
        maxOutputTokens: 16384,
      },
      priceSource: {
        model: "gpt-4o-mini",
        source: "https://developers.openai.com/api/docs/pricing",
        pricesCheckedOn: "2026-12-04",
        fields: [
          "inputPrice",
          "outputPrice",
          "cacheReadPrice",
          "cacheWritePrice",
          "cacheWrite1hPrice",
          "contextWindow",
          "maxOutputTokens",
        ],
        notes: null,
      },
    });
  });

  it("keeps given values, an explicit null included", () => {
    const sut = fillModelPrices(
      {
        inputPrice: 7n,
        cacheReadPrice: 0n,
        reasoningPrice: null,
        maxOutputTokens: null,
      },
      gpt4oMini,
    );

    expect(sut.ok).toBe(true);
    if (!sut.ok) {
      return;
    }
    expect(sut.values.inputPrice).toBe(7n);
    expect(sut.values.cacheReadPrice).toBe(0n);
    expect(sut.values.maxOutputTokens).toBeNull();
    expect(sut.values.outputPrice).toBe(parseUsd("0.60"));
    expect(sut.priceSource?.fields).toEqual([
      "outputPrice",
      "cacheWritePrice",
      "cacheWrite1hPrice",
      "contextWindow",
    ]);
  });

  it("reports no source when everything was given", () => {
    const sut = fillModelPrices(
      {
        inputPrice: 1n,
        outputPrice: 2n,
        cacheReadPrice: 3n,
        cacheWritePrice: 4n,
        cacheWrite1hPrice: 5n,
        reasoningPrice: null,
        contextWindow: null,
        maxOutputTokens: 10,
      },
      gpt4oMini,
    );

    expect(sut).toMatchObject({ ok: true, priceSource: null });
  });

  it("names the missing prices without a catalog entry", () => {
    expect(fillModelPrices({}, null)).toEqual({
      ok: false,
      missing: ["inputPrice", "outputPrice"],
    });
    expect(fillModelPrices({ inputPrice: 1n }, null)).toEqual({
      ok: false,
      missing: ["outputPrice"],
    });
  });

  it("defaults the other prices without a catalog entry", () => {
    const sut = fillModelPrices({ inputPrice: 1n, outputPrice: 2n }, null);

    expect(sut).toEqual({
      ok: true,
      values: {
        inputPrice: 1n,
        outputPrice: 2n,
        cacheReadPrice: 0n,
        cacheWritePrice: 0n,
        cacheWrite1hPrice: 0n,
        reasoningPrice: null,
        contextWindow: null,
        maxOutputTokens: null,
      },
      priceSource: null,
    });
  });
});
