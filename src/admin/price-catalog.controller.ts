import { Get, Query } from "@nestjs/common";
import { ApiOperation } from "@nestjs/swagger";
import { createZodDto, ZodResponse } from "nestjs-zod";
import { z } from "zod";

import { AdminRoute } from "../auth/admin-auth";
import { UserRole } from "../auth/entities/user.entity";
import { BUNDLED_PRICE_CATALOG } from "../billing/price-catalog/bundled-catalog";
import { CatalogEntry } from "../billing/price-catalog/price-catalog";
import { ProviderKind } from "../providers/entities/provider.entity";
import { AdminController, ApiErrors } from "./admin-docs";
import { usd, usdOutput } from "./dto/common.dto";

const catalogKind = z.enum([
  ProviderKind.OpenAi,
  ProviderKind.Anthropic,
  ProviderKind.Gemini,
]);

export class PriceCatalogQueryDto extends createZodDto(
  z.strictObject({
    provider: catalogKind.optional().meta({
      description: "Only the models of this provider kind",
      example: "anthropic",
    }),
  }),
) {}

const entrySchema = z.object({
  provider: catalogKind.meta({ example: "anthropic" }),
  model: z.string().meta({ example: "claude-sonnet-4-5" }),
  aliases: z.array(z.string()).meta({
    description: "Other names with the same prices",
    example: [],
  }),
  snapshots: z.array(z.string()).meta({
    description:
      "Dated snapshots with the same prices; snapshots not listed have no catalog prices",
    example: ["claude-sonnet-4-5-20250929"],
  }),
  inputPrice: usdOutput,
  outputPrice: usdOutput,
  cacheReadPrice: usdOutput,
  cacheWritePrice: usdOutput.meta({
    description: "Cache writes with the default (5 minute) lifetime",
    example: "3.750000000",
  }),
  cacheWrite1hPrice: usdOutput.meta({
    description: "Cache writes with a one hour lifetime",
    example: "6.000000000",
  }),
  reasoningPrice: usdOutput.nullable().meta({
    description: "Null: the provider bills reasoning tokens as output",
  }),
  contextWindow: z.number().int().nullable().meta({ example: 200000 }),
  maxOutputTokens: z.number().int().nullable().meta({ example: 64000 }),
  source: z.string().meta({
    description: "The provider's price page",
    example: "https://platform.claude.com/docs/en/about-claude/pricing",
  }),
  pricesCheckedOn: z.string().meta({
    description: "The date the prices were last checked against the price page",
    example: "2026-12-04",
  }),
  notes: z.string().nullable().meta({
    description: "What the prices do not cover, or the model's status",
  }),
});

export class PriceCatalogResponseDto extends createZodDto(
  z.object({ items: z.array(entrySchema) }),
) {}

function toEntryResponse(entry: CatalogEntry): z.input<typeof entrySchema> {
  const { prices } = entry;
  return {
    provider: entry.provider as z.infer<typeof catalogKind>,
    model: entry.model,
    aliases: entry.aliases,
    snapshots: entry.snapshots,
    inputPrice: usd(prices.inputPrice),
    outputPrice: usd(prices.outputPrice),
    cacheReadPrice: usd(prices.cacheReadPrice),
    cacheWritePrice: usd(prices.cacheWritePrice),
    cacheWrite1hPrice: usd(prices.cacheWrite1hPrice),
    reasoningPrice:
      prices.reasoningPrice === null ? null : usd(prices.reasoningPrice),
    contextWindow: entry.contextWindow,
    maxOutputTokens: entry.maxOutputTokens,
    source: entry.source,
    pricesCheckedOn: entry.pricesCheckedOn,
    notes: entry.notes,
  };
}

/** The published prices that fill the prices a new model config leaves out, in USD per million tokens. */
@AdminController("price-catalog", "models")
export class PriceCatalogController {
  @Get()
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "listPriceCatalog",
    summary:
      "List the price catalog: published prices of well-known models, with their source page and date",
  })
  @ZodResponse({ status: 200, type: PriceCatalogResponseDto })
  @ApiErrors(400)
  list(@Query() query: PriceCatalogQueryDto) {
    const entries = BUNDLED_PRICE_CATALOG.entries.filter(
      (entry) => !query.provider || entry.provider === query.provider,
    );
    return { items: entries.map(toEntryResponse) };
  }
}
