import { Injectable } from "@nestjs/common";
import { PassportStrategy } from "@nestjs/passport";
import { FastifyRequest } from "fastify";
import { Strategy } from "passport-custom";

import { AdminPrincipal } from "../admin-auth";
import { AdminSessionService } from "../admin-session.service";
import { sessionTokenOf } from "../request-credentials";

/** Why a request was not authenticated, passed to the guard as passport's challenge. */
export interface AdminChallenge {
  code: "missing_session" | "invalid_session";
}

/** Authenticates admin requests by their session token (bearer token or cookie). */
@Injectable()
export class SessionStrategy extends PassportStrategy(
  Strategy,
  "admin-session",
) {
  constructor(private readonly sessions: AdminSessionService) {
    super();
  }

  async validate(
    request: FastifyRequest,
  ): Promise<AdminPrincipal | [false, AdminChallenge]> {
    const token = sessionTokenOf(request);
    if (!token) {
      return [false, { code: "missing_session" }];
    }

    const principal = await this.sessions.authenticate(token);
    return principal ?? [false, { code: "invalid_session" }];
  }
}
