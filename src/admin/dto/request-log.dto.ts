import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { RequestLogEntry } from "../../billing/request-log.service";
import {
  idSchema,
  nextCursor,
  pageQuery,
  timestampInput,
  timestampOutput,
  usd,
  usdOutput,
} from "./common.dto";

export class RequestLogQueryDto extends createZodDto(
  z.strictObject({
    clientId: idSchema.optional(),
    providerId: idSchema.optional(),
    model: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ example: "gpt-4o-mini" }),
    status: z.enum(RequestStatus).optional().meta({ example: "failed" }),
    from: timestampInput
      .optional()
      .meta({ description: "Requests at or after this time" }),
    to: timestampInput
      .optional()
      .meta({ description: "Requests before this time" }),
    ...pageQuery,
  }),
) {}

const count = (example: number) => z.number().int().meta({ example });

const entrySchema = z.object({
  id: count(1001),
  requestId: z.string().meta({ example: "req_01JEXAMPLE" }),
  clientId: count(1),
  tokenId: z.number().int().meta({ example: 7 }).nullable(),
  providerId: count(1),
  model: z.string().meta({ example: "gpt-4o-mini" }),
  endpoint: z.string().meta({ example: "chat.completions" }),
  status: z.enum(RequestStatus).meta({ example: "completed" }),
  errorClass: z.string().meta({ example: null }).nullable(),
  upstreamStatus: z.number().int().meta({ example: 200 }).nullable(),
  streamed: z.boolean(),
  promptTokens: count(1500),
  completionTokens: count(220),
  cacheReadTokens: count(0),
  cacheWriteTokens: count(0),
  reasoningTokens: count(0),
  usageEstimated: z.boolean().meta({
    description:
      "True when a count is a tokenizer estimate rather than the provider's report",
  }),
  cost: usdOutput,
  latencyMs: count(840),
  ttftMs: z.number().int().meta({ example: 310 }).nullable(),
  createdAt: timestampOutput,
});

export class RequestLogPageResponseDto extends createZodDto(
  z.object({ items: z.array(entrySchema), nextCursor }),
) {}

export function toRequestLogResponse(
  entry: RequestLogEntry,
): z.input<typeof entrySchema> {
  return {
    ...entry,
    cost: usd(entry.cost),
    createdAt: entry.createdAt.toISOString(),
  };
}
