import { Injectable } from "@nestjs/common";
import { AuthGuard } from "@nestjs/passport";

import { invalidRequest } from "../common/proxy-error";

/** Turns passport's callback into the strategy's own error, or a 400 when the strategy found no credentials. */
function signInResult<TUser>(error: unknown, user: TUser | false): TUser {
  if (error) {
    throw error instanceof Error ? error : new Error("sign-in failed");
  }
  if (!user) {
    throw invalidRequest(
      "Send a JSON body with the string fields username and password",
      "invalid_body",
      "username",
    );
  }
  return user;
}

/** Runs the username and password strategy. */
@Injectable()
export class PasswordSignInGuard extends AuthGuard("admin-local") {
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    return signInResult(error, user);
  }
}

/** Runs the OpenID Connect callback strategy. */
@Injectable()
export class OidcSignInGuard extends AuthGuard("admin-oidc") {
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    return signInResult(error, user);
  }
}
