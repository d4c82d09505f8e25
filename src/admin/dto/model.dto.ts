import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { ModelConfig } from "../../providers/entities/model-config.entity";
import { ProviderKind } from "../../providers/entities/provider.entity";
import {
  MAX_MODEL_PRIORITY,
  MAX_MODEL_WEIGHT,
  ModelCreated,
} from "../../providers/providers.service";
import {
  idSchema,
  timestampOutput,
  usd,
  usdInput,
  usdOutput,
} from "./common.dto";

const price = (description: string) =>
  usdInput.meta({
    description: `${description}, USD per million tokens, at most 100000`,
    example: "2.50",
  });
const limit = (description: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(100_000_000)
    .meta({ description, example: 16384 })
    .nullable();

const changeable = {
  upstreamName: z.string().min(1).max(200).meta({
    description: "Model name sent to the provider",
    example: "gpt-4o-mini-2024-07-18",
  }),
  inputPrice: price("Input price"),
  outputPrice: price("Output price"),
  cacheReadPrice: price("Cached input price"),
  cacheWritePrice: price("Cache write price (default lifetime)"),
  cacheWrite1hPrice: price("Cache write price (one hour lifetime)"),
  reasoningPrice: price(
    "Reasoning price, when billed apart from output; null bills reasoning as output",
  ).nullable(),
  contextWindow: limit("Context window in tokens"),
  maxOutputTokens: limit(
    "Output limit in tokens, used to reserve prepaid credit",
  ),
  priority: z.number().int().min(0).max(MAX_MODEL_PRIORITY).meta({
    description:
      "Routing order among the providers serving the same public name: lower is tried first",
    example: 0,
  }),
  weight: z.number().int().min(1).max(MAX_MODEL_WEIGHT).meta({
    description:
      "Share of traffic among the routes of equal priority, relative to their weights",
    example: 1,
  }),
};

/** Describes a field that the price catalog fills when the request leaves it out. */
const fromCatalog = (field: string, fallback: string) =>
  `${field}. When left out, the price catalog's value for the upstream name is used (see GET /api/price-catalog); ` +
  `without a catalog entry, ${fallback}`;

export class ModelCreateDto extends createZodDto(
  z.strictObject({
    providerId: idSchema.meta({
      description: "Provider that serves the model",
      example: 1,
    }),
    publicName: z.string().min(1).max(200).meta({
      description: "The name clients send as `model`",
      example: "gpt-4o-mini",
    }),
    upstreamName: changeable.upstreamName.optional(),
    inputPrice: changeable.inputPrice
      .optional()
      .meta({ description: fromCatalog("Input price", "it is required") }),
    outputPrice: changeable.outputPrice
      .optional()
      .meta({ description: fromCatalog("Output price", "it is required") }),
    cacheReadPrice: changeable.cacheReadPrice
      .optional()
      .meta({ description: fromCatalog("Cached input price", "0") }),
    cacheWritePrice: changeable.cacheWritePrice.optional().meta({
      description: fromCatalog("Cache write price (default lifetime)", "0"),
    }),
    cacheWrite1hPrice: changeable.cacheWrite1hPrice.optional().meta({
      description: fromCatalog("Cache write price (one hour lifetime)", "0"),
    }),
    reasoningPrice: changeable.reasoningPrice.optional().meta({
      description: fromCatalog(
        "Reasoning price; null bills reasoning as output",
        "null",
      ),
    }),
    contextWindow: changeable.contextWindow
      .optional()
      .meta({ description: fromCatalog("Context window in tokens", "null") }),
    maxOutputTokens: changeable.maxOutputTokens.optional().meta({
      description: fromCatalog(
        "Output limit in tokens, used to reserve prepaid credit",
        "null",
      ),
    }),
    priority: changeable.priority.default(0),
    weight: changeable.weight.default(1),
  }),
) {}

export class ModelUpdateDto extends createZodDto(
  z
    .strictObject({
      upstreamName: changeable.upstreamName.optional(),
      inputPrice: changeable.inputPrice.optional(),
      outputPrice: changeable.outputPrice.optional(),
      cacheReadPrice: changeable.cacheReadPrice.optional(),
      cacheWritePrice: changeable.cacheWritePrice.optional(),
      cacheWrite1hPrice: changeable.cacheWrite1hPrice.optional(),
      reasoningPrice: changeable.reasoningPrice.optional(),
      contextWindow: changeable.contextWindow.optional(),
      maxOutputTokens: changeable.maxOutputTokens.optional(),
      priority: changeable.priority.optional(),
      weight: changeable.weight.optional(),
      enabled: z.boolean().optional().meta({
        description: "A disabled model is not served",
        example: true,
      }),
    })
    .refine((body) => Object.keys(body).length > 0, {
      message: "Give at least one field to change",
    }),
) {}

export class ModelListQueryDto extends createZodDto(
  z.strictObject({
    providerId: idSchema.optional(),
    publicName: z.string().min(1).max(200).optional().meta({
      description:
        "Only the configs serving this public name: its routes over several providers",
      example: "gpt-4o-mini",
    }),
  }),
) {}

const modelSchema = z.object({
  id: z.number().int().meta({ example: 3 }),
  providerId: z.number().int().meta({ example: 1 }),
  providerName: z.string().meta({ example: "openai" }),
  providerKind: z.enum(ProviderKind).meta({ example: "openai" }),
  publicName: z.string().meta({
    description:
      "The name clients send; several configs on different providers may share it, routed by priority and weight",
    example: "gpt-4o-mini",
  }),
  upstreamName: z.string().meta({ example: "gpt-4o-mini-2024-07-18" }),
  inputPrice: usdOutput,
  outputPrice: usdOutput,
  cacheReadPrice: usdOutput,
  cacheWritePrice: usdOutput,
  cacheWrite1hPrice: usdOutput,
  reasoningPrice: usdOutput.nullable(),
  contextWindow: z.number().int().meta({ example: 128000 }).nullable(),
  maxOutputTokens: z.number().int().meta({ example: 16384 }).nullable(),
  priority: z.number().int().meta({ example: 0 }),
  weight: z.number().int().meta({ example: 1 }),
  enabled: z.boolean(),
  createdAt: timestampOutput,
  updatedAt: timestampOutput,
});

export class ModelResponseDto extends createZodDto(modelSchema) {}

const priceSourceSchema = z
  .object({
    model: z.string().meta({
      description: "The catalog model whose values were used",
      example: "gpt-4o-mini",
    }),
    source: z.string().meta({
      description: "The provider's price page the catalog was read from",
      example: "https://developers.openai.com/api/docs/pricing",
    }),
    pricesCheckedOn: z.string().meta({
      description: "The date the catalog prices were last checked, YYYY-MM-DD",
      example: "2026-12-04",
    }),
    fields: z.array(z.string()).meta({
      description:
        "The fields that took the catalog's value because the request left them out",
      example: ["cacheReadPrice", "contextWindow", "maxOutputTokens"],
    }),
    notes: z
      .string()
      .nullable()
      .meta({ description: "What the catalog prices do not cover" }),
  })
  .nullable()
  .meta({
    description:
      "Which values came from the price catalog, and from which price page and date; null when the request " +
      "gave every value or the catalog has no entry. Only the create response carries it; the audit entry " +
      "of the creation keeps it",
  });

/** The created model config, plus which of its values came from the price catalog. */
export class ModelCreateResponseDto extends createZodDto(
  modelSchema.extend({ priceSource: priceSourceSchema }),
) {}

export class ModelListResponseDto extends createZodDto(
  z.object({ items: z.array(modelSchema) }),
) {}

export function toModelResponse(
  model: ModelConfig,
): z.input<typeof modelSchema> {
  return {
    id: model.id,
    providerId: model.provider.id,
    providerName: model.provider.name,
    providerKind: model.provider.kind,
    publicName: model.publicName,
    upstreamName: model.upstreamName,
    inputPrice: usd(model.inputPrice),
    outputPrice: usd(model.outputPrice),
    cacheReadPrice: usd(model.cacheReadPrice),
    cacheWritePrice: usd(model.cacheWritePrice),
    cacheWrite1hPrice: usd(model.cacheWrite1hPrice),
    reasoningPrice:
      model.reasoningPrice === null ? null : usd(model.reasoningPrice),
    contextWindow: model.contextWindow,
    maxOutputTokens: model.maxOutputTokens,
    priority: model.priority,
    weight: model.weight,
    enabled: model.enabled,
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}

export function toModelCreateResponse(created: ModelCreated) {
  return {
    ...toModelResponse(created.model),
    priceSource: created.priceSource,
  };
}
