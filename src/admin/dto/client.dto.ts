import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { Client, ClientStatus } from "../../clients/entities/client.entity";
import { usd, usdInput, usdOutput, timestampOutput } from "./common.dto";

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

/** A count limit: a whole number that fits the 32-bit column, or null for no limit. */
const countLimit = (description: string, example: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .nullable()
    .meta({ description: `${description}; null is unlimited`, example });

/** Limits in requests: counts as numbers, budgets as decimal USD strings; null is unlimited. */
const limitInputs = {
  requestsPerMinute: countLimit(
    "Requests admitted per fixed one-minute window",
    60,
  ),
  tokensPerMinute: countLimit(
    "Tokens per fixed one-minute window, counted as the prompt bound plus max_tokens until the request finishes",
    150000,
  ),
  maxConcurrentRequests: countLimit("Requests in progress at one time", 8),
  dailyBudget: usdInput.nullable().meta({
    description:
      "USD per calendar day in limits.timeZone; requests in progress hold their worst-case cost; null is unlimited",
    example: "25.00",
  }),
  monthlyBudget: usdInput.nullable().meta({
    description: "USD per calendar month in limits.timeZone; null is unlimited",
    example: "500.00",
  }),
};

const limitOutputs = {
  requestsPerMinute: limitInputs.requestsPerMinute,
  tokensPerMinute: limitInputs.tokensPerMinute,
  maxConcurrentRequests: limitInputs.maxConcurrentRequests,
  dailyBudget: usdOutput.nullable(),
  monthlyBudget: usdOutput.nullable(),
};

export class ClientCreateDto extends createZodDto(
  z.strictObject({
    name,
    allowedModels: allowedModels.default(null),
    requestsPerMinute: limitInputs.requestsPerMinute.default(null),
    tokensPerMinute: limitInputs.tokensPerMinute.default(null),
    maxConcurrentRequests: limitInputs.maxConcurrentRequests.default(null),
    dailyBudget: limitInputs.dailyBudget.default(null),
    monthlyBudget: limitInputs.monthlyBudget.default(null),
  }),
) {}

export class ClientUpdateDto extends createZodDto(
  z
    .strictObject({
      name: name.optional(),
      allowedModels: allowedModels.optional(),
      status: z.enum(ClientStatus).optional().meta({ example: "active" }),
      requestsPerMinute: limitInputs.requestsPerMinute.optional(),
      tokensPerMinute: limitInputs.tokensPerMinute.optional(),
      maxConcurrentRequests: limitInputs.maxConcurrentRequests.optional(),
      dailyBudget: limitInputs.dailyBudget.optional(),
      monthlyBudget: limitInputs.monthlyBudget.optional(),
    })
    .refine((body) => Object.keys(body).length > 0, {
      message:
        "Give at least one of name, allowedModels, status or a limit (requestsPerMinute, tokensPerMinute, maxConcurrentRequests, dailyBudget, monthlyBudget)",
    }),
) {}

const clientSchema = z.object({
  id: z.number().int().meta({ example: 1 }),
  name,
  status: z.enum(ClientStatus).meta({ example: "active" }),
  allowedModels,
  ...limitOutputs,
  limitUsage: z
    .object({
      concurrentRequests: z.number().int().meta({ example: 2 }),
      budgetDay: z.string().nullable().meta({
        description:
          "Calendar day (limits.timeZone) the day counters belong to; older than today means nothing spent today",
        example: "2026-12-04",
      }),
      daySpent: usdOutput,
      dayHeld: usdOutput.meta({
        description: "Worst-case cost held by requests in progress",
      }),
      budgetMonth: z.string().nullable().meta({ example: "2026-12" }),
      monthSpent: usdOutput,
      monthHeld: usdOutput,
    })
    .meta({ description: "Counters that admission checks the limits against" }),
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
    requestsPerMinute: client.requestsPerMinute,
    tokensPerMinute: client.tokensPerMinute,
    maxConcurrentRequests: client.maxConcurrentRequests,
    dailyBudget: client.dailyBudget === null ? null : usd(client.dailyBudget),
    monthlyBudget:
      client.monthlyBudget === null ? null : usd(client.monthlyBudget),
    limitUsage: {
      concurrentRequests: Number(client.concurrentRequests),
      budgetDay: client.budgetDay,
      daySpent: usd(client.budgetDaySpent),
      dayHeld: usd(client.budgetDayHeld),
      budgetMonth: client.budgetMonth,
      monthSpent: usd(client.budgetMonthSpent),
      monthHeld: usd(client.budgetMonthHeld),
    },
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
