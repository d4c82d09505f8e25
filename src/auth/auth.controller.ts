import {
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Post,
  Redirect,
  Req,
  Res,
  UseGuards,
  UseInterceptors,
} from "@nestjs/common";
import {
  ApiBadGatewayResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiFoundResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from "@nestjs/swagger";
import { FastifyReply, FastifyRequest } from "fastify";
import { ZodResponse, ZodSerializerInterceptor } from "nestjs-zod";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  AdminPrincipal,
  AdminRoute,
  CurrentAdmin,
  PublicRoute,
} from "./admin-auth";
import { AdminSessionService } from "./admin-session.service";
import {
  clearedOidcFlowCookie,
  clearedSessionCookie,
  oidcFlowCookie,
  sessionCookie,
} from "./cookies";
import {
  LoginRequestDto,
  MeResponseDto,
  SessionResponseDto,
  toSignedInUser,
} from "./dto/auth.dto";
import { errorResponseSchema } from "./dto/error-response.schema";
import { SignInMethod } from "./entities/admin-session.entity";
import { User, UserRole } from "./entities/user.entity";
import { OidcService } from "./oidc.service";
import { OidcSignInGuard, PasswordSignInGuard } from "./sign-in.guard";

type SignedInRequest = FastifyRequest & { user: User };

/** Sign-in and sign-out for the admin API and dashboard. */
@ApiTags("auth")
@Controller("api/auth")
@UseInterceptors(ZodSerializerInterceptor)
export class AuthController {
  private readonly secureCookies: boolean;

  constructor(
    private readonly sessions: AdminSessionService,
    private readonly oidc: OidcService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.secureCookies = config.auth.secureCookies;
  }

  @Post("login")
  @HttpCode(HttpStatus.OK)
  @PublicRoute()
  @UseGuards(PasswordSignInGuard)
  @ApiOperation({
    operationId: "login",
    summary: "Sign in with a username and password",
    description:
      "Starts a session for a local account. The token is in the body once and in the `llmp_session` cookie. Repeated failures for a username or from an address are refused with 429 for `auth.failedSignInWindowMs`.",
  })
  @ApiBody({ type: LoginRequestDto })
  @ZodResponse({
    status: 200,
    type: SessionResponseDto,
    description: "Signed in",
  })
  @ApiBadRequestResponse({
    description: "username or password missing or not a string",
    schema: errorResponseSchema({
      message: "Send a JSON body with the string fields username and password",
      type: "invalid_request_error",
      code: "invalid_body",
    }),
  })
  @ApiUnauthorizedResponse({
    description:
      "Wrong password, unknown user, disabled user or an account without a password; the answer does not say which",
    schema: errorResponseSchema({
      message: "Wrong username or password",
      type: "authentication_error",
      code: "invalid_credentials",
    }),
  })
  @ApiTooManyRequestsResponse({
    description:
      "Too many failed sign-ins; `Retry-After` says when to try again",
    schema: errorResponseSchema({
      message:
        "Too many failed sign-ins for this username or address; try again in 900 seconds",
      type: "rate_limit_error",
      code: "too_many_sign_in_attempts",
    }),
  })
  login(
    @Req() request: SignedInRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.startSession(request.user, SignInMethod.Password, reply);
  }

  @Post("logout")
  @HttpCode(HttpStatus.NO_CONTENT)
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "logout",
    summary: "Sign out",
    description:
      "Ends the session the request came with and clears the cookie. Requests vouched for by a trusted SSO proxy have no session to end.",
  })
  @ApiNoContentResponse({ description: "Signed out" })
  async logout(
    @CurrentAdmin() admin: AdminPrincipal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.sessions.revoke(admin.sessionId);
    void reply.header("set-cookie", clearedSessionCookie(this.secureCookies));
  }

  @Get("me")
  @AdminRoute(UserRole.Viewer)
  @ApiOperation({
    operationId: "getCurrentUser",
    summary: "The signed-in user and role",
  })
  @ZodResponse({ status: 200, type: MeResponseDto })
  me(@CurrentAdmin() admin: AdminPrincipal) {
    return {
      ...toSignedInUser({
        id: admin.userId,
        username: admin.username,
        role: admin.role,
      }),
      sessionId: admin.sessionId,
    };
  }

  @Get("oidc/login")
  @PublicRoute()
  @Redirect()
  @ApiOperation({
    operationId: "startOidcSignIn",
    summary: "Start an OpenID Connect sign-in",
    description:
      "Redirects the browser to the identity provider (authorization code flow with PKCE). The state, nonce and PKCE verifier stay on the server; a short-lived HttpOnly cookie ties the callback to this browser.",
  })
  @ApiFoundResponse({ description: "Redirect to the identity provider" })
  @ApiNotFoundResponse({
    description: "OpenID Connect is not enabled",
    schema: errorResponseSchema({
      message: "OpenID Connect sign-in is not enabled (auth.oidc.enabled)",
      type: "not_found_error",
      code: "oidc_disabled",
    }),
  })
  @ApiBadGatewayResponse({
    description: "The identity provider's discovery document could not be read",
    schema: errorResponseSchema({
      message:
        "The identity provider could not be reached or answered unexpectedly; try again later",
      type: "upstream_error",
      code: "oidc_provider_unavailable",
    }),
  })
  async oidcLogin(
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ url: string; statusCode: number }> {
    const started = await this.oidc.start();
    void reply.header(
      "set-cookie",
      oidcFlowCookie(started.flowId, this.oidc.flowTtlMs, this.secureCookies),
    );
    return { url: started.authorizationUrl, statusCode: HttpStatus.FOUND };
  }

  @Get("oidc/callback")
  @PublicRoute()
  @UseGuards(OidcSignInGuard)
  @ApiOperation({
    operationId: "finishOidcSignIn",
    summary: "Finish an OpenID Connect sign-in",
    description:
      "The identity provider sends the browser here. The code is exchanged with the PKCE verifier, the ID token is checked (signature, issuer, audience, expiry, nonce), the groups claim is mapped to a role, and the user is created or updated by issuer and subject. Starts a session like the password sign-in.",
  })
  @ZodResponse({
    status: 200,
    type: SessionResponseDto,
    description: "Signed in",
  })
  @ApiUnauthorizedResponse({
    description:
      "Unknown, used or expired sign-in, a state that does not match, or an ID token the checks refused",
    schema: errorResponseSchema({
      message:
        "The identity provider's answer was refused: aud mismatch, expected llm-proxy, got: another-app",
      type: "authentication_error",
      code: "oidc_sign_in_failed",
    }),
  })
  @ApiForbiddenResponse({
    description:
      "None of the user's groups maps to a role, or the user is disabled; no session is started",
    schema: errorResponseSchema({
      message:
        "None of your groups grants a role here; ask an administrator to map one in auth.oidc.roles (claim 'groups')",
      type: "permission_error",
      code: "no_role_for_groups",
    }),
  })
  oidcCallback(
    @Req() request: SignedInRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.startSession(request.user, SignInMethod.Oidc, reply);
  }

  private async startSession(
    user: User,
    method: SignInMethod,
    reply: FastifyReply,
  ) {
    const session = await this.sessions.issue(user.id, method);
    const cookies = [
      sessionCookie(session.token, session.expiresAt, this.secureCookies),
    ];
    if (method === SignInMethod.Oidc) {
      cookies.push(clearedOidcFlowCookie(this.secureCookies));
    }
    void reply.header("set-cookie", cookies);

    return {
      token: session.token,
      expiresAt: session.expiresAt.toISOString(),
      user: toSignedInUser(user),
    };
  }
}
