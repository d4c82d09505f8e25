import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
  UseGuards,
} from "@nestjs/common";
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from "@nestjs/swagger";

import { AdminGuard } from "./admin.guard";
import { errorResponseSchema } from "./dto/error-response.schema";
import { UserRole } from "./entities/user.entity";
import { ADMIN_MIN_ROLE } from "./roles";

export { ADMIN_MIN_ROLE, roleAtLeast } from "./roles";

/** The signed-in dashboard user of an admin request. */
export interface AdminPrincipal {
  userId: number;
  username: string;
  role: UserRole;
  /**
   * The admin session the request came with, or `trusted-header` when a trusted SSO proxy vouched for the user
   * on this request alone.
   */
  sessionId: string;
}

/** Cookie that carries the session token for a browser; requests may send `Authorization: Bearer` instead. */
export const SESSION_COOKIE = "llmp_session";

/**
 * Protects an admin route or controller: the caller needs a valid admin session (bearer token or the
 * `llmp_session` cookie) and at least the `minimum` role. Missing or invalid sessions get 401, a lower role
 * gets 403, both in the `{"error": {...}}` format. Also documents the `admin` security scheme and both errors.
 */
export function AdminRoute(minimum: UserRole) {
  return applyDecorators(
    SetMetadata(ADMIN_MIN_ROLE, minimum),
    UseGuards(AdminGuard),
    ApiBearerAuth("admin"),
    ApiUnauthorizedResponse({
      description:
        "No admin session, or the session expired, was revoked or belongs to a disabled user",
      schema: errorResponseSchema({
        message: "Sign in first: send the session token as a bearer token",
        type: "authentication_error",
        code: "missing_session",
      }),
    }),
    ApiForbiddenResponse({
      description: `The user's role is below ${minimum}`,
      schema: errorResponseSchema({
        message: `This action needs the ${minimum} role; you are signed in as viewer`,
        type: "permission_error",
        code: "insufficient_role",
      }),
    }),
  );
}

/** Metadata key set by {@link PublicRoute}. */
export const PUBLIC_ROUTE = "llmp:public-route";

/**
 * Marks an `/api` route that needs no session (the sign-in routes), and documents it in OpenAPI with an empty
 * security requirement (`{}`, anonymous access), so that no `/api` route is left without a stated access rule.
 */
export function PublicRoute() {
  return applyDecorators(SetMetadata(PUBLIC_ROUTE, true), ApiSecurity({}));
}

/** The {@link AdminPrincipal} of the request; only on routes protected by {@link AdminRoute}. */
export const CurrentAdmin = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AdminPrincipal => {
    const request = context
      .switchToHttp()
      .getRequest<{ user?: AdminPrincipal }>();
    if (!request.user) {
      throw new Error(
        "CurrentAdmin() used on a route without @AdminRoute(); the guard sets the principal",
      );
    }
    return request.user;
  },
);
