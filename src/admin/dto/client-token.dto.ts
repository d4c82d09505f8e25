import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { IssuedToken, RotatedToken } from "../../clients/clients.service";
import { ClientToken } from "../../clients/entities/client-token.entity";
import { isoOrNull, timestampInput, timestampOutput } from "./common.dto";

/** Maximum overlap of an old and a new token after a rotation: 30 days. */
const MAX_OVERLAP_SECONDS = 30 * 86_400;

const futureExpiry = timestampInput
  .refine((date) => date.getTime() > Date.now(), {
    message: "must be in the future",
  })
  .nullable()
  .default(null)
  .meta({
    description: "When the token stops working; null for never",
    example: "2027-03-01T00:00:00Z",
  });

export class ClientTokenCreateDto extends createZodDto(
  z.strictObject({
    name: z
      .string()
      .min(1)
      .max(200)
      .default("default")
      .meta({ description: "Label shown in listings", example: "production" }),
    expiresAt: futureExpiry,
  }),
) {}

export class ClientTokenRotateDto extends createZodDto(
  z.strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_SECONDS)
      .default(86_400)
      .meta({
        description:
          "How long the old token keeps working after the new one is issued, at most 30 days",
        example: 3600,
      }),
    expiresAt: futureExpiry,
  }),
) {}

const tokenState = z
  .enum(["active", "expired", "revoked"])
  .meta({ example: "active" });

const tokenSchema = z.object({
  id: z.number().int().meta({ example: 7 }),
  clientId: z.number().int().meta({ example: 1 }),
  name: z.string().meta({ example: "production" }),
  displayPrefix: z.string().meta({
    description: "The token's first characters, enough to recognise it",
    example: "lpx_3fZq81Ab",
  }),
  state: tokenState,
  expiresAt: timestampOutput.nullable(),
  revokedAt: timestampOutput.nullable(),
  lastUsedAt: timestampOutput
    .meta({
      description: "Last use, recorded at most once a minute",
    })
    .nullable(),
  createdAt: timestampOutput,
});

const issuedSchema = z.object({
  id: z.number().int().meta({ example: 7 }),
  token: z.string().meta({
    description:
      "The full token. It is shown only in this response and never stored",
    example: "lpx_3fZq81AbcdEFghIJklMNopQRstUVwxYZ0123456789abc1a2B3c",
  }),
  displayPrefix: z.string().meta({ example: "lpx_3fZq81Ab" }),
  expiresAt: timestampOutput.nullable(),
});

export class ClientTokenResponseDto extends createZodDto(tokenSchema) {}

export class ClientTokenListResponseDto extends createZodDto(
  z.object({ items: z.array(tokenSchema) }),
) {}

export class ClientTokenIssuedResponseDto extends createZodDto(issuedSchema) {}

export class ClientTokenRotatedResponseDto extends createZodDto(
  z.object({
    issued: issuedSchema,
    previous: tokenSchema.meta({
      description:
        "The old token, with its expiry moved to the end of the overlap",
    }),
  }),
) {}

export function toTokenResponse(
  token: ClientToken,
  now = new Date(),
): z.input<typeof tokenSchema> {
  return {
    id: token.id,
    clientId: token.client.id,
    name: token.name,
    displayPrefix: token.displayPrefix,
    state: token.revokedAt
      ? "revoked"
      : token.expiresAt && token.expiresAt <= now
        ? "expired"
        : "active",
    expiresAt: isoOrNull(token.expiresAt),
    revokedAt: isoOrNull(token.revokedAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    createdAt: token.createdAt.toISOString(),
  };
}

export function toIssuedResponse(
  issued: IssuedToken,
): z.input<typeof issuedSchema> {
  return {
    id: issued.id,
    token: issued.token,
    displayPrefix: issued.displayPrefix,
    expiresAt: isoOrNull(issued.expiresAt),
  };
}

export function toRotatedResponse(rotated: RotatedToken) {
  return {
    issued: toIssuedResponse(rotated.issued),
    previous: toTokenResponse(rotated.previous),
  };
}
