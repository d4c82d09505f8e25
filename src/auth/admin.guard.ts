import { ExecutionContext, Injectable } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { AuthGuard } from "@nestjs/passport";

import type { AdminPrincipal } from "./admin-auth";
import { adminForbidden, adminUnauthenticated } from "./admin-errors";
import { UserRole } from "./entities/user.entity";
import { ADMIN_MIN_ROLE, roleAtLeast } from "./roles";
import type { AdminChallenge } from "./strategies/session.strategy";

/**
 * Authenticates an admin request by its session, or by a trusted SSO proxy's headers, through passport, then
 * checks the role that `AdminRoute` recorded. Used through `AdminRoute`, not on its own.
 */
@Injectable()
export class AdminGuard extends AuthGuard([
  "admin-session",
  "admin-trusted-header",
]) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    await super.canActivate(context);

    const principal = context
      .switchToHttp()
      .getRequest<{ user: AdminPrincipal }>().user;
    const minimum = this.reflector.getAllAndOverride<UserRole | undefined>(
      ADMIN_MIN_ROLE,
      [context.getHandler(), context.getClass()],
    );
    if (!minimum) {
      throw new Error(
        "AdminGuard used without AdminRoute(role); every admin route states its role",
      );
    }
    if (!roleAtLeast(principal.role, minimum)) {
      throw adminForbidden(
        `This action needs the ${minimum} role; you are signed in as ${principal.role}`,
        "insufficient_role",
      );
    }

    return true;
  }

  override handleRequest<TUser = AdminPrincipal>(
    error: unknown,
    user: TUser | false,
    info: unknown,
  ): TUser {
    if (error) {
      throw error instanceof Error
        ? error
        : new Error("admin authentication failed");
    }
    if (user) {
      return user;
    }

    const challenges = (Array.isArray(info) ? info : [info]) as (
      AdminChallenge | undefined
    )[];
    if (challenges.some((entry) => entry?.code === "invalid_session")) {
      throw adminUnauthenticated(
        "The session is unknown, expired or revoked, or its user is disabled; sign in again",
        "invalid_session",
      );
    }
    throw adminUnauthenticated(
      "Sign in first: send the session token as a bearer token or in the llmp_session cookie",
      "missing_session",
    );
  }
}
