import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { Client, ClientStatus } from "../../clients/entities/client.entity";
import { usd, usdOutput, timestampOutput } from "./common.dto";

const name = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: "Unique name", example: "billing-service" });

const allowedModels = z
  .array(z.string().min(1).max(200))
  .max(1000)
  .meta({
    description:
      "Public model names the client may call; null allows every model",
    example: ["gpt-4o-mini"],
  })
  .nullable();

export class ClientCreateDto extends createZodDto(
  z.strictObject({
    name,
    allowedModels: allowedModels.default(null),
  }),
) {}

export class ClientUpdateDto extends createZodDto(
  z
    .strictObject({
      name: name.optional(),
      allowedModels: allowedModels.optional(),
      status: z.enum(ClientStatus).optional().meta({ example: "active" }),
    })
    .refine((body) => Object.keys(body).length > 0, {
      message: "Give at least one of name, allowedModels or status",
    }),
) {}

const clientSchema = z.object({
  id: z.number().int().meta({ example: 1 }),
  name,
  status: z.enum(ClientStatus).meta({ example: "active" }),
  allowedModels,
  totals: z
    .object({
      requests: z.number().int().meta({ example: 1200 }),
      promptTokens: z.number().int().meta({ example: 350000 }),
      completionTokens: z.number().int().meta({ example: 90000 }),
      cachedTokens: z.number().int().meta({ example: 120000 }),
      reasoningTokens: z.number().int().meta({ example: 0 }),
      cost: usdOutput,
    })
    .meta({ description: "Running totals since the client was created" }),
  createdAt: timestampOutput,
  updatedAt: timestampOutput,
});

export class ClientResponseDto extends createZodDto(clientSchema) {}

export class ClientListResponseDto extends createZodDto(
  z.object({ items: z.array(clientSchema) }),
) {}

export function toClientResponse(client: Client): z.input<typeof clientSchema> {
  return {
    id: client.id,
    name: client.name,
    status: client.status,
    allowedModels: client.allowedModels,
    totals: {
      requests: Number(client.totalRequests),
      promptTokens: Number(client.totalPromptTokens),
      completionTokens: Number(client.totalCompletionTokens),
      cachedTokens: Number(client.totalCachedTokens),
      reasoningTokens: Number(client.totalReasoningTokens),
      cost: usd(client.totalCost),
    },
    createdAt: client.createdAt.toISOString(),
    updatedAt: client.updatedAt.toISOString(),
  };
}
