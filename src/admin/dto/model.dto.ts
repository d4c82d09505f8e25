import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { ModelConfig } from "../../providers/entities/model-config.entity";
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
};

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
    ...changeable,
    upstreamName: changeable.upstreamName.optional(),
    cacheReadPrice: changeable.cacheReadPrice.optional(),
    cacheWritePrice: changeable.cacheWritePrice.optional(),
    cacheWrite1hPrice: changeable.cacheWrite1hPrice.optional(),
    reasoningPrice: changeable.reasoningPrice.optional(),
    contextWindow: changeable.contextWindow.optional(),
    maxOutputTokens: changeable.maxOutputTokens.optional(),
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
  z.strictObject({ providerId: idSchema.optional() }),
) {}

const modelSchema = z.object({
  id: z.number().int().meta({ example: 3 }),
  providerId: z.number().int().meta({ example: 1 }),
  publicName: z.string().meta({ example: "gpt-4o-mini" }),
  upstreamName: z.string().meta({ example: "gpt-4o-mini-2024-07-18" }),
  inputPrice: usdOutput,
  outputPrice: usdOutput,
  cacheReadPrice: usdOutput,
  cacheWritePrice: usdOutput,
  cacheWrite1hPrice: usdOutput,
  reasoningPrice: usdOutput.nullable(),
  contextWindow: z.number().int().meta({ example: 128000 }).nullable(),
  maxOutputTokens: z.number().int().meta({ example: 16384 }).nullable(),
  enabled: z.boolean(),
  createdAt: timestampOutput,
  updatedAt: timestampOutput,
});

export class ModelResponseDto extends createZodDto(modelSchema) {}

export class ModelListResponseDto extends createZodDto(
  z.object({ items: z.array(modelSchema) }),
) {}

export function toModelResponse(
  model: ModelConfig,
): z.input<typeof modelSchema> {
  return {
    id: model.id,
    providerId: model.provider.id,
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
    enabled: model.enabled,
    createdAt: model.createdAt.toISOString(),
    updatedAt: model.updatedAt.toISOString(),
  };
}
