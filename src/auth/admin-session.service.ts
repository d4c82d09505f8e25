import { randomBytes } from "node:crypto";

import { Inject, Injectable, Logger } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { AdminPrincipal } from "./admin-auth";
import { AdminSession, SignInMethod } from "./entities/admin-session.entity";
import { User } from "./entities/user.entity";
import {
  generateSessionToken,
  hashSecret,
  looksLikeSessionToken,
} from "./session-token";

/** A session just started; `token` is the only copy of the secret. */
export interface IssuedSession {
  sessionId: string;
  token: string;
  expiresAt: Date;
}

/**
 * Starts, checks and ends admin sessions. Tokens are random and only their hash is stored, so every replica
 * recognises them. A revocation or a disabled user takes effect on every replica at its next request.
 */
@Injectable()
export class AdminSessionService {
  private readonly logger = new Logger(AdminSessionService.name);
  private readonly ttlMs: number;

  constructor(
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ttlMs = config.auth.sessionTtlMs;
  }

  /**
   * Starts a session for the user; it lasts `auth.sessionTtlMs`. Sessions that have expired are deleted on the
   * way, so the table holds only live and recently revoked ones.
   */
  async issue(
    userId: number,
    method: SignInMethod = SignInMethod.Password,
  ): Promise<IssuedSession> {
    const em = this.em.fork();
    await em.nativeDelete(AdminSession, { expiresAt: { $lt: new Date() } });
    const token = generateSessionToken();
    const session = em.create(AdminSession, {
      id: randomBytes(16).toString("hex"),
      user: em.getReference(User, userId),
      tokenHash: hashSecret(token),
      method,
      expiresAt: new Date(Date.now() + this.ttlMs),
    });
    await em.flush();

    this.logger.log({
      msg: "admin session started",
      sessionId: session.id,
      userId,
      method,
    });
    return { sessionId: session.id, token, expiresAt: session.expiresAt };
  }

  /** Returns the principal of a live session, or null for an unknown, expired or revoked token or a disabled user. */
  async authenticate(token: string): Promise<AdminPrincipal | null> {
    if (!looksLikeSessionToken(token)) {
      return null;
    }

    const session = await this.em
      .fork()
      .findOne(
        AdminSession,
        { tokenHash: hashSecret(token) },
        { populate: ["user"] },
      );
    if (
      !session ||
      session.revokedAt !== null ||
      session.expiresAt.getTime() <= Date.now() ||
      session.user.disabled
    ) {
      return null;
    }

    return {
      userId: session.user.id,
      username: session.user.username,
      role: session.user.role,
      sessionId: session.id,
    };
  }

  /** Ends one session; returns whether it was live. */
  async revoke(sessionId: string): Promise<boolean> {
    const revoked = await this.em
      .fork()
      .nativeUpdate(
        AdminSession,
        { id: sessionId, revokedAt: null },
        { revokedAt: new Date() },
      );

    this.logger.log({ msg: "admin session revoked", sessionId, revoked });
    return revoked > 0;
  }

  /** Ends every session of a user; returns how many were live. */
  async revokeAllForUser(userId: number): Promise<number> {
    const revoked = await this.em
      .fork()
      .nativeUpdate(
        AdminSession,
        { user: userId, revokedAt: null, expiresAt: { $gt: new Date() } },
        { revokedAt: new Date() },
      );

    this.logger.log({ msg: "admin sessions revoked", userId, revoked });
    return revoked;
  }
}
