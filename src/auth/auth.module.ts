import { Global, Module } from "@nestjs/common";
import { PassportModule } from "@nestjs/passport";

import { AdminGuard } from "./admin.guard";
import { AuthController } from "./auth.controller";
import { AuthCoreModule } from "./auth-core.module";
import { InitialAdminService } from "./initial-admin.service";
import { OidcService } from "./oidc.service";
import { OidcSignInGuard, PasswordSignInGuard } from "./sign-in.guard";
import { SignInThrottle } from "./sign-in-throttle.service";
import { LocalStrategy } from "./strategies/local.strategy";
import { OidcStrategy } from "./strategies/oidc.strategy";
import { SessionStrategy } from "./strategies/session.strategy";
import { TrustedHeaderStrategy } from "./strategies/trusted-header.strategy";
import { UsersController } from "./users.controller";

/**
 * Dashboard users, admin sign-in (password, OpenID Connect, trusted SSO proxy headers) and sessions, and the
 * guard behind `AdminRoute`. Global, so that any feature module's controller can use `AdminRoute` without
 * importing this module.
 */
@Global()
@Module({
  imports: [PassportModule.register({ session: false }), AuthCoreModule],
  controllers: [AuthController, UsersController],
  providers: [
    AdminGuard,
    PasswordSignInGuard,
    OidcSignInGuard,
    SignInThrottle,
    OidcService,
    InitialAdminService,
    SessionStrategy,
    TrustedHeaderStrategy,
    LocalStrategy,
    OidcStrategy,
  ],
  exports: [AuthCoreModule, AdminGuard],
})
export class AuthModule {}
