import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import {
  BillingMode,
  Provider,
  ProviderKind,
} from "../../providers/entities/provider.entity";
import { MAX_PROVIDER_TIMEOUT_MS } from "../../providers/providers.service";
import { timestampOutput, usd, usdOutput } from "./common.dto";

const name = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: "Unique name", example: "openai" });
const baseUrl = z
  .string()
  .min(1)
  .max(2000)
  .meta({
    description:
      "Base URL up to and including the API version; http or https, no credentials. Azure takes the resource " +
      "root, https://NAME.openai.azure.com. Defaults on create: openai https://api.openai.com/v1, anthropic " +
      "https://api.anthropic.com/v1, gemini https://generativelanguage.googleapis.com/v1beta/openai; azure has none",
    example: "https://api.openai.com/v1",
  });
const kind = z.enum(ProviderKind).meta({
  description:
    "Wire format and authentication of the upstream API: openai (any OpenAI-compatible API, Bearer key), " +
    "anthropic (Messages API, x-api-key), azure (Azure OpenAI deployments, api-key and api-version), " +
    "gemini (Gemini's OpenAI-compatible endpoint)",
  example: "openai",
});
const apiVersion = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, "must be a date such as 2024-10-21")
  .meta({
    description:
      "Azure's api-version query parameter, required for azure and rejected for other kinds",
    example: "2024-10-21",
  });
const timeout = (description: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(MAX_PROVIDER_TIMEOUT_MS)
    .nullable()
    .meta({
      description: `${description}, in milliseconds (1 to ${MAX_PROVIDER_TIMEOUT_MS}); null takes the configured default`,
      example: 10000,
    });
const timeouts = {
  connectTimeoutMs: timeout("Time to open a connection"),
  firstTokenTimeoutMs: timeout(
    "Time from sending the request to the first event of a stream, or to the whole body of a response that is not streamed",
  ),
  totalTimeoutMs: timeout("Time for the whole call, body included"),
};
const billingMode = z.enum(BillingMode).meta({
  description:
    "prepaid: requests are reserved against and debited from the credit balance; postpaid: invoiced afterwards, the balance is never touched",
  example: "prepaid",
});
const apiKey = z.string().min(1).max(1000).meta({
  description:
    "The provider's API key. It is sealed at rest and never returned; responses show its last four characters",
  example: "sk-proj-...",
});

export class ProviderCreateDto extends createZodDto(
  z.strictObject({
    name,
    kind: kind.default(ProviderKind.OpenAi),
    baseUrl: baseUrl.optional(),
    apiVersion: apiVersion.optional(),
    connectTimeoutMs: timeouts.connectTimeoutMs.optional(),
    firstTokenTimeoutMs: timeouts.firstTokenTimeoutMs.optional(),
    totalTimeoutMs: timeouts.totalTimeoutMs.optional(),
    apiKey,
    billingMode,
    supportsStreamOptions: z.boolean().default(true).meta({
      description:
        "False for upstreams that reject stream_options; their stream usage is then estimated",
      example: true,
    }),
  }),
) {}

export class ProviderUpdateDto extends createZodDto(
  z
    .strictObject({
      name: name.optional(),
      baseUrl: baseUrl.optional(),
      apiVersion: apiVersion.nullable().optional(),
      connectTimeoutMs: timeouts.connectTimeoutMs.optional(),
      firstTokenTimeoutMs: timeouts.firstTokenTimeoutMs.optional(),
      totalTimeoutMs: timeouts.totalTimeoutMs.optional(),
      billingMode: billingMode.optional(),
      supportsStreamOptions: z.boolean().optional(),
      enabled: z.boolean().optional().meta({
        description: "A disabled provider serves no requests",
        example: true,
      }),
    })
    .refine((body) => Object.keys(body).length > 0, {
      message: "Give at least one field to change",
    }),
) {}

export class ProviderKeyDto extends createZodDto(z.strictObject({ apiKey })) {}

const providerSchema = z.object({
  id: z.number().int().meta({ example: 1 }),
  name,
  kind,
  baseUrl,
  apiVersion: apiVersion.nullable(),
  ...timeouts,
  billingMode,
  keyLast4: z
    .string()
    .meta({
      description:
        "The last four characters of the API key; the key itself is never returned",
      example: "x9Qz",
    })
    .nullable(),
  creditBalance: usdOutput,
  creditReserved: usdOutput.meta({
    description: "Credit held by requests in flight",
    example: "0.012500000",
  }),
  supportsStreamOptions: z.boolean(),
  enabled: z.boolean(),
  createdAt: timestampOutput,
  updatedAt: timestampOutput,
});

export class ProviderResponseDto extends createZodDto(providerSchema) {}

export class ProviderListResponseDto extends createZodDto(
  z.object({ items: z.array(providerSchema) }),
) {}

export function toProviderResponse(
  provider: Provider,
): z.input<typeof providerSchema> {
  return {
    id: provider.id,
    name: provider.name,
    kind: provider.kind,
    baseUrl: provider.baseUrl,
    apiVersion: provider.apiVersion,
    connectTimeoutMs: provider.connectTimeoutMs,
    firstTokenTimeoutMs: provider.firstTokenTimeoutMs,
    totalTimeoutMs: provider.totalTimeoutMs,
    billingMode: provider.billingMode,
    keyLast4: provider.apiKeyLast4,
    creditBalance: usd(provider.creditBalance),
    creditReserved: usd(provider.creditReserved),
    supportsStreamOptions: provider.supportsStreamOptions,
    enabled: provider.enabled,
    createdAt: provider.createdAt.toISOString(),
    updatedAt: provider.updatedAt.toISOString(),
  };
}
