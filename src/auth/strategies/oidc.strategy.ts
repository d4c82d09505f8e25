import { Injectable } from "@nestjs/common";
import { PassportStrategy } from "@nestjs/passport";
import { FastifyRequest } from "fastify";
import { Strategy } from "passport-custom";

import { User } from "../entities/user.entity";
import { OidcService } from "../oidc.service";

/** Finishes an OpenID Connect sign-in at the callback; see {@link OidcService.complete}. */
@Injectable()
export class OidcStrategy extends PassportStrategy(Strategy, "admin-oidc") {
  constructor(private readonly oidc: OidcService) {
    super();
  }

  validate(request: FastifyRequest): Promise<User> {
    return this.oidc.complete(request);
  }
}
