import { randomBytes } from "node:crypto";

import { HttpStatus, Inject, Injectable, Logger } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";
import { FastifyRequest } from "fastify";
import {
  BaseClient,
  custom,
  errors,
  generators,
  IdTokenClaims,
  Issuer,
} from "openid-client";

import { ProxyError } from "../common/proxy-error";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { adminForbidden, adminUnauthenticated } from "./admin-errors";
import { OIDC_FLOW_COOKIE } from "./cookies";
import { User } from "./entities/user.entity";
import { OidcFlow } from "./entities/oidc-flow.entity";
import { groupsFromClaim, roleForGroups } from "./group-roles";
import { cookieOf } from "./request-credentials";
import { hashSecret } from "./session-token";
import { UsersService } from "./users.service";

/** A started sign-in: where to send the browser, and the flow id for its cookie. */
export interface OidcStart {
  authorizationUrl: string;
  flowId: string;
}

/** How long discovery and token requests to the provider may take, in milliseconds. */
const PROVIDER_TIMEOUT_MS = 10_000;

/**
 * OpenID Connect sign-in with the authorization code flow and PKCE, through openid-client. The state, nonce and
 * PKCE verifier of a started sign-in are kept in the database under the hash of a random flow id, which the
 * browser holds in a short-lived cookie, so the callback may reach any replica and each flow is used once.
 */
@Injectable()
export class OidcService {
  private readonly logger = new Logger(OidcService.name);
  private readonly settings: AppConfig["auth"]["oidc"];
  private client: Promise<BaseClient> | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly users: UsersService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.settings = config.auth.oidc;
  }

  get flowTtlMs(): number {
    return this.settings.flowTtlMs;
  }

  /** Starts a sign-in: stores a new flow and returns the provider's authorization URL. */
  async start(): Promise<OidcStart> {
    const client = await this.getClient();
    const flowId = randomBytes(32).toString("base64url");
    const flow = {
      idHash: hashSecret(flowId),
      state: generators.state(),
      nonce: generators.nonce(),
      codeVerifier: generators.codeVerifier(),
      expiresAt: new Date(Date.now() + this.settings.flowTtlMs),
    };

    const em = this.em.fork();
    await em.nativeDelete(OidcFlow, { expiresAt: { $lt: new Date() } });
    em.create(OidcFlow, flow);
    await em.flush();

    const authorizationUrl = client.authorizationUrl({
      scope: this.settings.scopes.join(" "),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: generators.codeChallenge(flow.codeVerifier),
      code_challenge_method: "S256",
    });
    return { authorizationUrl, flowId };
  }

  /**
   * Finishes a sign-in at the callback: takes the request's flow (once), exchanges the code with the PKCE
   * verifier, lets openid-client check the ID token (signature, issuer, audience, expiry, nonce) and the state,
   * maps the groups claim to a role and creates or updates the user. Refuses with 403 when no group maps to a
   * role, so no session is started.
   */
  async complete(request: FastifyRequest): Promise<User> {
    const client = await this.getClient();
    const flow = await this.takeFlow(request);

    let claims: IdTokenClaims;
    try {
      const tokens = await client.callback(
        this.settings.redirectUrl!,
        client.callbackParams(request.url),
        {
          state: flow.state,
          nonce: flow.nonce,
          code_verifier: flow.codeVerifier,
          response_type: "code",
        },
      );
      claims = tokens.claims();
    } catch (error) {
      throw this.refusal(error);
    }

    return this.userFor(claims);
  }

  private async userFor(claims: IdTokenClaims): Promise<User> {
    const groups = groupsFromClaim(claims[this.settings.groupsClaim]);
    const role = roleForGroups(groups, this.settings.roles);
    const username = usernameOf(claims, this.settings.usernameClaim);
    if (!role) {
      this.logger.warn({
        msg: "single sign-on refused: no group maps to a role",
        username,
        groups,
      });
      throw adminForbidden(
        `None of your groups grants a role here; ask an administrator to map one in auth.oidc.roles (claim '${this.settings.groupsClaim}')`,
        "no_role_for_groups",
      );
    }

    const user = await this.users.upsertExternal({
      issuer: claims.iss,
      subject: claims.sub,
      username,
      email: typeof claims.email === "string" ? claims.email : null,
      role,
    });
    if (!user) {
      throw adminForbidden(
        `The user '${username}' is disabled`,
        "user_disabled",
      );
    }
    return user;
  }

  /** Loads and deletes the flow named by the request's cookie; a flow serves one callback only. */
  private async takeFlow(request: FastifyRequest): Promise<OidcFlow> {
    const flowId = cookieOf(request, OIDC_FLOW_COOKIE);
    const em = this.em.fork();
    const flow = flowId
      ? await em.findOne(OidcFlow, { idHash: hashSecret(flowId) })
      : null;
    const taken = flow
      ? await em.nativeDelete(OidcFlow, { idHash: flow.idHash })
      : 0;

    if (!flow || taken === 0 || flow.expiresAt.getTime() <= Date.now()) {
      throw adminUnauthenticated(
        "This sign-in was not started here, was already used or took too long; start again at /api/auth/oidc/login",
        "invalid_session",
      );
    }
    return flow;
  }

  /** Maps openid-client's errors to a 401 that says what was wrong, without tokens or secrets. */
  private refusal(error: unknown): ProxyError {
    if (error instanceof errors.RPError || error instanceof errors.OPError) {
      this.logger.warn({
        msg: "single sign-on refused",
        reason: error.message,
      });
      return new ProxyError(
        `The identity provider's answer was refused: ${error.message}`,
        {
          status: HttpStatus.UNAUTHORIZED,
          type: "authentication_error",
          code: "oidc_sign_in_failed",
        },
      );
    }
    return this.unreachable(error);
  }

  private getClient(): Promise<BaseClient> {
    if (!this.settings.enabled) {
      return Promise.reject(
        new ProxyError(
          "OpenID Connect sign-in is not enabled (auth.oidc.enabled)",
          {
            status: HttpStatus.NOT_FOUND,
            type: "not_found_error",
            code: "oidc_disabled",
          },
        ),
      );
    }

    this.client ??= this.discover().catch((error: unknown) => {
      // The next sign-in tries discovery again rather than keep a failure.
      this.client = null;
      throw this.unreachable(error);
    });
    return this.client;
  }

  private async discover(): Promise<BaseClient> {
    Issuer[custom.http_options] = () => ({ timeout: PROVIDER_TIMEOUT_MS });
    const issuer = await Issuer.discover(this.settings.issuer!);
    const client = new issuer.Client({
      client_id: this.settings.clientId!,
      client_secret: this.settings.clientSecret ?? undefined,
      redirect_uris: [this.settings.redirectUrl!],
      response_types: ["code"],
      token_endpoint_auth_method: this.settings.clientSecret
        ? "client_secret_basic"
        : "none",
    });
    client[custom.clock_tolerance] = this.settings.clockToleranceSeconds;
    client[custom.http_options] = () => ({ timeout: PROVIDER_TIMEOUT_MS });

    this.logger.log({
      msg: "identity provider discovered",
      issuer: issuer.metadata.issuer,
    });
    return client;
  }

  /** A failure to talk to the provider at all; the log line says why, the caller gets a 502. */
  private unreachable(error: unknown): ProxyError {
    this.logger.error({
      msg: "identity provider unavailable",
      reason: error instanceof Error ? error.message : "unknown failure",
    });
    return new ProxyError(
      "The identity provider could not be reached or answered unexpectedly; try again later",
      {
        status: HttpStatus.BAD_GATEWAY,
        type: "upstream_error",
        code: "oidc_provider_unavailable",
      },
    );
  }
}

/** The username from the configured claim, else the email, else the subject. */
function usernameOf(claims: IdTokenClaims, claim: string): string {
  for (const value of [claims[claim], claims.email, claims.sub]) {
    if (typeof value === "string" && value.trim().length > 0) {
      return value.trim();
    }
  }
  return claims.sub;
}
