import { createZodDto } from "nestjs-zod";
import { z } from "zod";

import { UserRole } from "../entities/user.entity";

const timestamp = z.iso
  .datetime()
  .meta({ example: "2026-12-04T21:46:39.161Z" });

const role = z.enum(UserRole).meta({
  description:
    "admin: everything; operator: clients, tokens, providers, top-ups, jobs; viewer: read-only",
  example: "operator",
});

/** The body of `POST /api/auth/login`. */
export class LoginRequestDto extends createZodDto(
  z.strictObject({
    username: z.string().min(1).max(200).meta({ example: "alice" }),
    password: z
      .string()
      .min(1)
      .max(1024)
      .meta({ example: "correct horse battery staple" }),
  }),
) {}

const signedInUser = z.object({
  id: z.number().int().meta({ example: 1 }),
  username: z.string().meta({ example: "alice" }),
  role,
});

/** A new session; the token is shown here once and also set as the `llmp_session` cookie. */
export class SessionResponseDto extends createZodDto(
  z.object({
    token: z.string().meta({
      description:
        "Session token for `Authorization: Bearer`; shown once, only its hash is stored",
      example: "lps_q2Vb0bS1pX1y3J6QwzQ3pH8yq2x8e9uC0k1f5m7n9rT",
    }),
    expiresAt: timestamp,
    user: signedInUser,
  }),
) {}

/** The signed-in user, from `GET /api/auth/me`. */
export class MeResponseDto extends createZodDto(
  signedInUser.extend({
    sessionId: z.string().meta({
      description:
        "Id of the current session (not its token), or `trusted-header` when an SSO proxy vouched for this request",
      example: "5f0c6e8e2b7a4d1c9e3f2a1b0c9d8e7f",
    }),
  }),
) {}

export const toSignedInUser = (user: {
  id: number;
  username: string;
  role: UserRole;
}): z.input<typeof signedInUser> => ({
  id: user.id,
  username: user.username,
  role: user.role,
});
