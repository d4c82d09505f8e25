import { HttpStatus } from "@nestjs/common";

import { ProxyError } from "../common/proxy-error";

/** 401 for a request to an admin route without a usable session; the code says which case it was. */
export const adminUnauthenticated = (
  message: string,
  code: "missing_session" | "invalid_session" | "invalid_credentials",
) =>
  new ProxyError(message, {
    status: HttpStatus.UNAUTHORIZED,
    type: "authentication_error",
    code,
  });

/** 403 for a signed-in user whose role is below what the route needs, or who may not sign in at all. */
export const adminForbidden = (message: string, code: string) =>
  new ProxyError(message, {
    status: HttpStatus.FORBIDDEN,
    type: "permission_error",
    code,
    logLevel: "warn",
  });
