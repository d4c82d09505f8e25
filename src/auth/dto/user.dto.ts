import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { idSchema } from "../../admin/dto/common.dto";
import { User, UserRole } from "../entities/user.entity";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../password-hasher";

const role = z.enum(UserRole).meta({ example: "viewer" });

/** The body of `POST /api/users`. */
export class UserCreateDto extends createZodDto(
  z.strictObject({
    username: z.string().min(1).max(200).meta({ example: "bob" }),
    password: z
      .string()
      .min(MIN_PASSWORD_LENGTH)
      .max(MAX_PASSWORD_LENGTH)
      .optional()
      .meta({
        description:
          "For a local account; omit for a user who signs in by SSO only",
        example: "a long passphrase of words",
      }),
    role,
    email: z.email().max(320).optional().meta({ example: "bob@example.com" }),
  }),
) {}

/** The body of `PATCH /api/users/{id}`. */
export class UserUpdateDto extends createZodDto(
  z
    .strictObject({
      role: role.optional(),
      disabled: z.boolean().optional().meta({
        description: "Disabling a user ends all of its sessions",
        example: true,
      }),
    })
    .refine((body) => Object.keys(body).length > 0, {
      message: "Give at least one of role or disabled",
    }),
) {}

const userSchema = z.object({
  id: z.number().int().meta({ example: 2 }),
  username: z.string().meta({ example: "bob" }),
  email: z.string().nullable().meta({ example: "bob@example.com" }),
  role,
  disabled: z.boolean().meta({ example: false }),
  signIn: z.enum(["password", "sso"]).meta({
    description:
      "password: a local account; sso: an OpenID Connect or trusted-proxy identity",
    example: "password",
  }),
  ssoIssuer: z.string().nullable().meta({ example: null }),
  lastSignInAt: z.iso
    .datetime()
    .nullable()
    .meta({ example: "2026-12-04T21:46:39.161Z" }),
  createdAt: z.iso.datetime().meta({ example: "2026-12-01T09:00:00.000Z" }),
});

export class UserResponseDto extends createZodDto(userSchema) {}

export class UserListResponseDto extends createZodDto(
  z.object({ items: z.array(userSchema) }),
) {}

export class SessionsRevokedResponseDto extends createZodDto(
  z.object({
    revoked: z.number().int().meta({
      description: "Sessions that were live and are now ended",
      example: 2,
    }),
  }),
) {}

/** Builds the view of a user that the API returns, without the password hash or the SSO subject. */
export function toUserResponse(user: User): z.input<typeof userSchema> {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    role: user.role,
    disabled: user.disabled,
    signIn: user.ssoIssuer ? "sso" : "password",
    ssoIssuer: user.ssoIssuer,
    lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

export class UserIdParams extends createZodDto(
  z.strictObject({ userId: idSchema }),
) {}
