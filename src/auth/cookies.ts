import { serialize } from "cookie";

import { SESSION_COOKIE } from "./admin-auth";

/** Cookie holding the id of a started OpenID Connect sign-in, sent back only to the callback. */
export const OIDC_FLOW_COOKIE = "llmp_oidc_flow";

const OIDC_COOKIE_PATH = "/api/auth/oidc";

/** The session cookie: HttpOnly, SameSite=Strict, Secure when `auth.secureCookies` is on. */
export function sessionCookie(
  token: string,
  expiresAt: Date,
  secure: boolean,
): string {
  return serialize(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    expires: expiresAt,
  });
}

/** Clears the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return serialize(SESSION_COOKIE, "", {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    maxAge: 0,
  });
}

/**
 * The cookie that ties an OpenID Connect callback to the browser that started the sign-in. SameSite=Lax,
 * because the provider sends the browser back with a top-level cross-site redirect, which Strict would strip.
 */
export function oidcFlowCookie(
  flowId: string,
  maxAgeMs: number,
  secure: boolean,
): string {
  return serialize(OIDC_FLOW_COOKIE, flowId, {
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: OIDC_COOKIE_PATH,
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export function clearedOidcFlowCookie(secure: boolean): string {
  return serialize(OIDC_FLOW_COOKIE, "", {
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: OIDC_COOKIE_PATH,
    maxAge: 0,
  });
}
