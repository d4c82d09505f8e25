import { createParamDecorator, ExecutionContext } from "@nestjs/common";
import { FastifyRequest } from "fastify";

import { AuditActor } from "../audit/audit";
import { AdminPrincipal } from "../auth/admin-auth";

/**
 * The signed-in user of an admin request as an audit actor, with the request id so an audit entry can be
 * matched with its log lines. Only on routes protected by `AdminRoute`, whose guard sets `request.user`.
 */
export const Actor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuditActor => {
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: AdminPrincipal }>();
    if (!request.user) {
      throw new Error(
        "Actor() used on a route without @AdminRoute(); the guard sets the principal",
      );
    }
    return {
      userId: request.user.userId,
      username: request.user.username,
      requestId: request.id,
    };
  },
);

/** How a change made through the admin API names its author in the balance ledger. */
export const ledgerActor = (actor: AuditActor) => `user:${actor.username}`;
