import { Injectable, Logger, OnModuleInit } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { AuditActor } from "../audit/audit";
import { AuditService } from "../audit/audit.service";
import { checkName } from "../common/names";
import { EntityNotFound } from "../common/not-found";
import { AdminSessionService } from "./admin-session.service";
import { User, UserRole } from "./entities/user.entity";
import {
  hashPassword,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  prepareDecoyHash,
  verifyPassword,
} from "./password-hasher";

/** Raised when a username is already taken. */
export class UsernameTaken extends Error {
  constructor(username: string) {
    super(`A user named '${username}' already exists`);
  }
}

/** Raised when a password is too short or too long. */
export class InvalidPassword extends Error {}

/** Raised when a change would leave no enabled administrator, and so nobody able to manage users. */
export class LastAdministrator extends Error {
  constructor() {
    super(
      "This change would leave no enabled administrator; make another user an administrator first",
    );
  }
}

export interface UserCreate {
  username: string;
  /** Plain password for a local account, hashed with argon2id; omit for an account that signs in by SSO only. */
  password?: string;
  role: UserRole;
  email?: string | null;
}

/** An identity vouched for by an OpenID Connect provider or a trusted SSO proxy. */
export interface ExternalIdentity {
  issuer: string;
  subject: string;
  username: string;
  email: string | null;
  role: UserRole;
}

/** How often a trusted-proxy user's last sign-in time is written, at most, in milliseconds. */
const SIGN_IN_TOUCH_INTERVAL_MS = 60_000;

/**
 * Creates and changes dashboard users and checks their passwords. Changes made with an actor are recorded in
 * the audit trail in the same transaction.
 */
@Injectable()
export class UsersService implements OnModuleInit {
  private readonly logger = new Logger(UsersService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly sessions: AdminSessionService,
    private readonly audit: AuditService,
  ) {}

  async onModuleInit(): Promise<void> {
    await prepareDecoyHash();
  }

  /** Creates a user; the username must be unused and a password, when given, 12 to 1024 characters. */
  async create(input: UserCreate, actor?: AuditActor): Promise<User> {
    checkName(input.username, "user");
    const passwordHash =
      input.password === undefined
        ? null
        : await hashPassword(checkPassword(input.password));

    const user = await this.em.fork().transactional(async (em) => {
      if (await em.count(User, { username: input.username })) {
        throw new UsernameTaken(input.username);
      }
      const created = em.create(User, {
        username: input.username,
        email: input.email ?? null,
        passwordHash,
        role: input.role,
      });
      await em.flush();
      if (actor) {
        this.audit.record(em, actor, {
          action: "user.create",
          entityType: "user",
          entityId: created.id,
          after: userAuditView(created),
        });
      }
      return created;
    });

    this.logger.log({
      msg: "user created",
      userId: user.id,
      username: user.username,
      role: user.role,
    });
    return user;
  }

  async count(): Promise<number> {
    return this.em.fork().count(User, {});
  }

  async list(): Promise<User[]> {
    return this.em.fork().find(User, {}, { orderBy: { id: "asc" } });
  }

  /** Returns a user by id; throws {@link EntityNotFound} when there is none. */
  async get(userId: number): Promise<User> {
    const user = await this.em.fork().findOne(User, userId);
    if (!user) {
      throw new EntityNotFound("user", userId);
    }
    return user;
  }

  /** Returns a user by username; throws {@link EntityNotFound} when there is none. */
  async getByUsername(username: string): Promise<User> {
    const user = await this.em.fork().findOne(User, { username });
    if (!user) {
      throw new EntityNotFound("user named", `'${username}'`);
    }
    return user;
  }

  /**
   * The enabled local user with this username and password, or null. Unknown users, SSO-only accounts and
   * disabled users take the same argon2 verification as a real one, so timing does not tell them apart.
   */
  async verifyCredentials(
    username: string,
    password: string,
  ): Promise<User | null> {
    const user = await this.em.fork().findOne(User, { username });
    const matches = await verifyPassword(user?.passwordHash ?? null, password);
    if (!user || !matches || user.disabled) {
      return null;
    }

    await this.em
      .fork()
      .nativeUpdate(User, { id: user.id }, { lastSignInAt: new Date() });
    return user;
  }

  /**
   * Changes a user's role or enabled state; disabling ends all of its sessions at once. Throws
   * {@link LastAdministrator} rather than demote or disable the last enabled administrator.
   */
  async update(
    userId: number,
    changes: { role?: UserRole; disabled?: boolean },
    actor?: AuditActor,
  ): Promise<User> {
    const user = await this.em.fork().transactional(async (em) => {
      const found = await em.findOne(User, userId);
      if (!found) {
        throw new EntityNotFound("user", userId);
      }
      const before = userAuditView(found);
      const wasAdmin = isActiveAdmin(found);
      found.role = changes.role ?? found.role;
      found.disabled = changes.disabled ?? found.disabled;
      if (wasAdmin && !isActiveAdmin(found)) {
        await assertAnotherAdmin(em, userId);
      }
      if (actor) {
        this.audit.record(em, actor, {
          action: "user.update",
          entityType: "user",
          entityId: userId,
          before,
          after: userAuditView(found),
        });
      }
      return found;
    });

    if (user.disabled) {
      await this.sessions.revokeAllForUser(userId);
    }
    this.logger.log({
      msg: "user changed",
      userId,
      role: user.role,
      disabled: user.disabled,
    });
    return user;
  }

  /** Ends every session of a user, as an administrator's action; returns how many were live. */
  async revokeSessions(userId: number, actor?: AuditActor): Promise<number> {
    await this.get(userId);
    const revoked = await this.sessions.revokeAllForUser(userId);

    if (actor) {
      const em = this.em.fork();
      this.audit.record(em, actor, {
        action: "user.sessions.revoke",
        entityType: "user",
        entityId: userId,
        after: { revokedSessions: revoked },
      });
      await em.flush();
    }
    return revoked;
  }

  /**
   * Finds the user of an SSO identity by (issuer, subject), creating it on first sign-in, and brings its email
   * and role up to date with what the identity provider says now. Returns null for a disabled user. A username
   * already held by another account gets the subject appended, so a new SSO user cannot take over a local
   * account by choosing its name.
   */
  async upsertExternal(identity: ExternalIdentity): Promise<User | null> {
    const em = this.em.fork();
    let user = await em.findOne(User, {
      ssoIssuer: identity.issuer,
      ssoSubject: identity.subject,
    });

    if (!user) {
      user = em.create(User, {
        username: await freeUsername(em, identity),
        email: identity.email,
        ssoIssuer: identity.issuer,
        ssoSubject: identity.subject,
        role: identity.role,
      });
      this.logger.log({
        msg: "user created from single sign-on",
        username: user.username,
        role: identity.role,
      });
    } else {
      user.email = identity.email ?? user.email;
      user.role = identity.role;
    }
    const now = Date.now();
    if (
      !user.disabled &&
      (user.lastSignInAt?.getTime() ?? 0) < now - SIGN_IN_TOUCH_INTERVAL_MS
    ) {
      user.lastSignInAt = new Date(now);
    }
    await em.flush();

    return user.disabled ? null : user;
  }
}

function isActiveAdmin(user: User): boolean {
  return user.role === UserRole.Admin && !user.disabled;
}

async function assertAnotherAdmin(
  em: EntityManager,
  userId: number,
): Promise<void> {
  const others = await em.count(User, {
    id: { $ne: userId },
    role: UserRole.Admin,
    disabled: false,
  });
  if (others === 0) {
    throw new LastAdministrator();
  }
}

/** The fields of a user an audit entry shows; never the password hash. */
function userAuditView(user: User): Record<string, unknown> {
  return {
    username: user.username,
    email: user.email,
    role: user.role,
    disabled: user.disabled,
    ssoIssuer: user.ssoIssuer,
  };
}

async function freeUsername(
  em: EntityManager,
  identity: ExternalIdentity,
): Promise<string> {
  const wanted = identity.username.slice(0, 200);
  if (!(await em.count(User, { username: wanted }))) {
    return wanted;
  }
  return `${wanted.slice(0, 100)}#${identity.subject}`.slice(0, 200);
}

function checkPassword(password: string): string {
  if (
    password.length < MIN_PASSWORD_LENGTH ||
    password.length > MAX_PASSWORD_LENGTH
  ) {
    throw new InvalidPassword(
      `The password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long, not ${password.length}`,
    );
  }
  return password;
}
