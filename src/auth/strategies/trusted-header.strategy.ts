import { BlockList, isIPv6 } from "node:net";

import { Inject, Injectable, Logger } from "@nestjs/common";
import { PassportStrategy } from "@nestjs/passport";
import { FastifyRequest } from "fastify";
import { Strategy } from "passport-custom";

import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import { AdminPrincipal } from "../admin-auth";
import { adminForbidden } from "../admin-errors";
import { roleForGroups } from "../group-roles";
import { peerAddressOf } from "../request-credentials";
import { UsersService } from "../users.service";
import { AdminChallenge } from "./session.strategy";

/** Issuer recorded on users that a trusted SSO proxy vouched for; their subject is the user header's value. */
export const TRUSTED_HEADER_ISSUER = "trusted-header";

/**
 * Authenticates admin requests by the user, email and groups headers an SSO proxy in front of the service sets.
 * The headers count only when the TCP peer is one of `auth.trustedHeader.proxies`. From any other address they
 * are ignored and logged, because any client can send them.
 */
@Injectable()
export class TrustedHeaderStrategy extends PassportStrategy(
  Strategy,
  "admin-trusted-header",
) {
  private readonly logger = new Logger(TrustedHeaderStrategy.name);
  private readonly settings: AppConfig["auth"]["trustedHeader"];
  private readonly proxies = new BlockList();

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
    this.settings = config.auth.trustedHeader;
    for (const entry of this.settings.proxies) {
      const [address, prefix] = entry.split("/");
      const family = isIPv6(address) ? "ipv6" : "ipv4";
      if (prefix === undefined) {
        this.proxies.addAddress(address, family);
      } else {
        this.proxies.addSubnet(address, Number(prefix), family);
      }
    }
  }

  async validate(
    request: FastifyRequest,
  ): Promise<AdminPrincipal | [false, AdminChallenge]> {
    const username = this.header(request, this.settings.userHeader);
    if (!this.settings.enabled || !username) {
      return [false, { code: "missing_session" }];
    }

    const peer = peerAddressOf(request);
    if (!peer || !this.isTrusted(peer)) {
      this.logger.warn({
        msg: "identity headers ignored: the sender is not a trusted proxy",
        peer,
        header: this.settings.userHeader,
      });
      return [false, { code: "missing_session" }];
    }

    return this.principalFor(request, username);
  }

  private async principalFor(
    request: FastifyRequest,
    username: string,
  ): Promise<AdminPrincipal> {
    const groups = (this.header(request, this.settings.groupsHeader) ?? "")
      .split(",")
      .map((group) => group.trim())
      .filter((group) => group.length > 0);
    const role = roleForGroups(groups, this.settings.roles);
    if (!role) {
      throw adminForbidden(
        `None of the groups of '${username}' grants a role here; ask an administrator to map one in auth.trustedHeader.roles`,
        "no_role_for_groups",
      );
    }

    const user = await this.users.upsertExternal({
      issuer: TRUSTED_HEADER_ISSUER,
      subject: username,
      username,
      email: this.header(request, this.settings.emailHeader),
      role,
    });
    if (!user) {
      throw adminForbidden(
        `The user '${username}' is disabled`,
        "user_disabled",
      );
    }

    return {
      userId: user.id,
      username: user.username,
      role: user.role,
      sessionId: TRUSTED_HEADER_ISSUER,
    };
  }

  private isTrusted(peer: string): boolean {
    return this.proxies.check(peer, isIPv6(peer) ? "ipv6" : "ipv4");
  }

  private header(request: FastifyRequest, name: string): string | null {
    const value = request.headers[name.toLowerCase()];
    const first = Array.isArray(value) ? value[0] : value;
    return first && first.trim().length > 0 ? first.trim() : null;
  }
}
