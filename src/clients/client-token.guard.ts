import { CanActivate, ExecutionContext, Injectable } from "@nestjs/common";
import { FastifyRequest } from "fastify";

import { ClientPrincipal } from "./client-principal";
import { TokenAuthenticator } from "./token-authenticator.service";

export type AuthenticatedRequest = FastifyRequest & {
  principal: ClientPrincipal;
};

/**
 * Authenticates `/v1` calls by the client token in `Authorization: Bearer`, or in `x-api-key` as Anthropic's
 * clients send it.
 */
@Injectable()
export class ClientTokenGuard implements CanActivate {
  constructor(private readonly authenticator: TokenAuthenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    request.principal = await this.authenticator.authenticate(
      bearerToken(request),
    );

    return true;
  }
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) {
    const apiKey = request.headers["x-api-key"];
    return Array.isArray(apiKey) ? apiKey[0] : apiKey;
  }

  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : header;
}
