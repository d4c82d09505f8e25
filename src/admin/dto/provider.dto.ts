import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import {
  BillingMode,
  Provider,
  ProviderKind,
} from "../../providers/entities/provider.entity";
import { timestampOutput, usd, usdOutput } from "./common.dto";

const name = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: "Unique name", example: "openai" });
const baseUrl = z.string().min(1).max(2000).meta({
  description:
    "Base URL up to and including the API version; http or https, no credentials",
  example: "https://api.openai.com/v1",
});
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
    kind: z.enum(ProviderKind).default(ProviderKind.OpenAi).meta({
      description: "Wire format of the upstream API",
      example: "openai",
    }),
    baseUrl,
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
  kind: z.enum(ProviderKind),
  baseUrl,
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
