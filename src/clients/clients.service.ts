import { Inject, Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { AuditActor } from "../audit/audit";
import { formatUsd } from "../billing/money";
import { AuditService } from "../audit/audit.service";
import {
  clientTokenDisplayPrefix,
  generateClientToken,
  hashClientToken,
} from "../crypto/client-token";
import { SECRET_MATERIAL } from "../crypto/crypto.module";
import { SecretMaterial } from "../crypto/secrets-file";
import { checkName } from "../common/names";
import { EntityNotFound } from "../common/not-found";
import { Client, ClientStatus } from "./entities/client.entity";
import { ClientToken } from "./entities/client-token.entity";

/** Raised when a client name is already in use. */
export class ClientNameTaken extends Error {
  constructor(name: string) {
    super(
      `A client named '${name}' already exists; pick another name or use the existing client`,
    );
  }
}

/** A client's limits; null leaves that limit off. Admission enforces them in the accounting transaction. */
export interface ClientLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  maxConcurrentRequests: number | null;
  /** Nano-dollars per calendar day in `limits.timeZone`. */
  dailyBudget: bigint | null;
  /** Nano-dollars per calendar month in `limits.timeZone`. */
  monthlyBudget: bigint | null;
}

/** Fields of a client that an update may change; absent fields stay as they are. */
export interface ClientUpdate extends Partial<ClientLimits> {
  name?: string;
  allowedModels?: string[] | null;
  status?: ClientStatus;
}

export interface RotatedToken {
  issued: IssuedToken;
  /** The old token, now expiring at the end of the overlap window. */
  previous: ClientToken;
}

export interface IssuedToken {
  id: number;
  /** The full token; shown once and never stored. */
  token: string;
  displayPrefix: string;
  expiresAt: Date | null;
}

/** Creates clients and issues, lists and revokes their tokens. */
@Injectable()
export class ClientsService {
  constructor(
    private readonly em: EntityManager,
    @Inject(SECRET_MATERIAL) private readonly secrets: SecretMaterial,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates a client; the name must be unused. Limits left out are off. With an actor, the audit entry is written
   * in the same transaction.
   */
  async create(
    name: string,
    allowedModels: string[] | null = null,
    actor?: AuditActor,
    limits: Partial<ClientLimits> = {},
  ): Promise<Client> {
    checkName(name, "client");
    checkLimits(limits);
    const em = this.em.fork();
    if (await em.count(Client, { name })) {
      throw new ClientNameTaken(name);
    }

    return em.transactional(async (tx) => {
      const client = tx.create(Client, { name, allowedModels, ...limits });
      await tx.flush();
      if (actor) {
        this.audit.record(tx, actor, {
          action: "client.create",
          entityType: "client",
          entityId: client.id,
          after: clientAuditView(client),
        });
      }

      return client;
    });
  }

  /** Returns a client by id; throws {@link EntityNotFound} when there is none. */
  async get(clientId: number): Promise<Client> {
    const client = await this.em.fork().findOne(Client, clientId);
    if (!client) {
      throw new EntityNotFound("client", clientId);
    }
    return client;
  }

  /**
   * Changes a client's name, allowed models, status or limits, and records the change. A changed limit applies
   * to the next admission; requests already admitted keep their holds.
   */
  async update(
    clientId: number,
    changes: ClientUpdate,
    actor: AuditActor,
  ): Promise<Client> {
    if (changes.name !== undefined) {
      checkName(changes.name, "client");
    }
    checkLimits(changes);

    return this.em.fork().transactional(async (tx) => {
      const client = await tx.findOne(Client, clientId);
      if (!client) {
        throw new EntityNotFound("client", clientId);
      }
      if (
        changes.name !== undefined &&
        changes.name !== client.name &&
        (await tx.count(Client, { name: changes.name }))
      ) {
        throw new ClientNameTaken(changes.name);
      }

      const before = clientAuditView(client);
      // The ORM's assign() checks bigint money fields against their text column type, so budgets are set directly.
      const { dailyBudget, monthlyBudget, ...others } = changes;
      tx.assign(client, others);
      if (dailyBudget !== undefined) {
        client.dailyBudget = dailyBudget;
      }
      if (monthlyBudget !== undefined) {
        client.monthlyBudget = monthlyBudget;
      }
      this.audit.record(tx, actor, {
        action: "client.update",
        entityType: "client",
        entityId: client.id,
        before,
        after: clientAuditView(client),
      });

      return client;
    });
  }

  async findByName(name: string): Promise<Client | null> {
    return this.em.fork().findOne(Client, { name });
  }

  async list(): Promise<Client[]> {
    return this.em.fork().find(Client, {}, { orderBy: { id: "asc" } });
  }

  async setStatus(clientId: number, status: ClientStatus): Promise<void> {
    const em = this.em.fork();
    const client = await em.findOneOrFail(Client, clientId);
    client.status = status;
    await em.flush();
  }

  /** Issues a new token; the returned token is the only copy. The audit entry contains its display prefix only. */
  async issueToken(
    clientId: number,
    name: string,
    expiresAt: Date | null = null,
    actor?: AuditActor,
  ): Promise<IssuedToken> {
    checkName(name, "token");

    return this.em.fork().transactional(async (tx) => {
      const client = await tx.findOne(Client, clientId);
      if (!client) {
        throw new EntityNotFound("client", clientId);
      }

      const { row, token } = await this.createToken(
        tx,
        client,
        name,
        expiresAt,
      );
      if (actor) {
        this.audit.record(tx, actor, {
          action: "client_token.issue",
          entityType: "client_token",
          entityId: row.id,
          after: tokenAuditView(row),
        });
      }

      return { id: row.id, token, displayPrefix: row.displayPrefix, expiresAt };
    });
  }

  /**
   * Replaces a token: issues a new one with the same name, and lets the old one expire after `overlapMs`, so
   * callers can switch over without an outage. An old token that expires sooner keeps its expiry.
   */
  async rotateToken(
    clientId: number,
    tokenId: number,
    rotation: { overlapMs: number; expiresAt: Date | null },
    actor: AuditActor,
  ): Promise<RotatedToken> {
    return this.em.fork().transactional(async (tx) => {
      const previous = await this.findToken(tx, clientId, tokenId);
      if (previous.revokedAt) {
        throw new TokenRevoked(tokenId);
      }

      const before = tokenAuditView(previous);
      const overlapEnd = new Date(Date.now() + rotation.overlapMs);
      if (!previous.expiresAt || previous.expiresAt > overlapEnd) {
        previous.expiresAt = overlapEnd;
      }
      const { row, token } = await this.createToken(
        tx,
        previous.client,
        previous.name,
        rotation.expiresAt,
      );
      this.audit.record(tx, actor, {
        action: "client_token.rotate",
        entityType: "client_token",
        entityId: previous.id,
        before,
        after: { ...tokenAuditView(previous), replacedBy: row.id },
      });
      this.audit.record(tx, actor, {
        action: "client_token.issue",
        entityType: "client_token",
        entityId: row.id,
        after: { ...tokenAuditView(row), replaces: previous.id },
      });

      return {
        issued: {
          id: row.id,
          token,
          displayPrefix: row.displayPrefix,
          expiresAt: row.expiresAt,
        },
        previous,
      };
    });
  }

  async listTokens(clientId: number): Promise<ClientToken[]> {
    return this.em
      .fork()
      .find(ClientToken, { client: clientId }, { orderBy: { id: "asc" } });
  }

  /**
   * Revokes a token at once; returns false when it was already revoked. With an actor, the revocation is
   * recorded in the audit trail in the same transaction.
   */
  async revokeToken(tokenId: number, actor?: AuditActor): Promise<boolean> {
    return this.em.fork().transactional(async (tx) => {
      const token = await tx.findOne(ClientToken, tokenId);
      if (!token) {
        throw new Error(
          `No token with id ${tokenId}; list them with: token list CLIENT`,
        );
      }
      if (token.revokedAt) {
        return false;
      }

      this.revoke(tx, token, actor);
      return true;
    });
  }

  /** Revokes a token of a client and records it; revoking a revoked token changes nothing and records nothing. */
  async revokeClientToken(
    clientId: number,
    tokenId: number,
    actor: AuditActor,
  ): Promise<ClientToken> {
    return this.em.fork().transactional(async (tx) => {
      const token = await this.findToken(tx, clientId, tokenId);
      if (!token.revokedAt) {
        this.revoke(tx, token, actor);
      }

      return token;
    });
  }

  private revoke(
    em: EntityManager,
    token: ClientToken,
    actor: AuditActor | undefined,
  ): void {
    const before = tokenAuditView(token);
    token.revokedAt = new Date();
    if (actor) {
      this.audit.record(em, actor, {
        action: "client_token.revoke",
        entityType: "client_token",
        entityId: token.id,
        before,
        after: tokenAuditView(token),
      });
    }
  }

  private async findToken(
    em: EntityManager,
    clientId: number,
    tokenId: number,
  ): Promise<ClientToken> {
    const token = await em.findOne(ClientToken, {
      id: tokenId,
      client: clientId,
    });
    if (!token) {
      throw new EntityNotFound(`token of client ${clientId}`, tokenId);
    }
    return token;
  }

  private async createToken(
    em: EntityManager,
    client: Client,
    name: string,
    expiresAt: Date | null,
  ): Promise<{ row: ClientToken; token: string }> {
    const token = generateClientToken();
    const row = em.create(ClientToken, {
      client,
      name,
      expiresAt,
      tokenHash: hashClientToken(token, this.secrets.tokenPepper).toString(
        "hex",
      ),
      displayPrefix: clientTokenDisplayPrefix(token),
    });
    await em.flush();

    return { row, token };
  }
}

/** Raised when a revoked token is to be rotated; it cannot be brought back. */
export class TokenRevoked extends Error {
  constructor(tokenId: number) {
    super(
      `Token ${tokenId} is revoked and cannot be rotated; issue a new token instead`,
    );
  }
}

/** Raised when a limit is not a whole number, or is negative. */
export class InvalidClientLimit extends Error {}

/** Largest count limit: the columns are 32-bit integers. */
const MAX_COUNT_LIMIT = 2_147_483_647;

/** Rejects counts that are not whole numbers from 0 to 2^31 - 1, and negative budgets; null (no limit) passes. */
function checkLimits(limits: Partial<ClientLimits>): void {
  for (const key of [
    "requestsPerMinute",
    "tokensPerMinute",
    "maxConcurrentRequests",
  ] as const) {
    const value = limits[key];
    if (
      value !== undefined &&
      value !== null &&
      (!Number.isSafeInteger(value) || value < 0 || value > MAX_COUNT_LIMIT)
    ) {
      throw new InvalidClientLimit(
        `${key} must be a whole number from 0 to ${MAX_COUNT_LIMIT}, or null for no limit; got ${value}`,
      );
    }
  }
  for (const key of ["dailyBudget", "monthlyBudget"] as const) {
    const value = limits[key];
    if (value !== undefined && value !== null && value < 0n) {
      throw new InvalidClientLimit(
        `${key} must not be negative; got ${formatUsd(value)} USD`,
      );
    }
  }
}

/** Builds the audit snapshot of a client; budgets as decimal USD strings. */
export function clientAuditView(client: Client): Record<string, unknown> {
  return {
    id: client.id,
    name: client.name,
    status: client.status,
    allowedModels: client.allowedModels,
    requestsPerMinute: client.requestsPerMinute,
    tokensPerMinute: client.tokensPerMinute,
    maxConcurrentRequests: client.maxConcurrentRequests,
    dailyBudget:
      client.dailyBudget === null ? null : formatUsd(client.dailyBudget),
    monthlyBudget:
      client.monthlyBudget === null ? null : formatUsd(client.monthlyBudget),
  };
}

/** Builds the audit snapshot of a token, without the token or its hash. */
export function tokenAuditView(token: ClientToken): Record<string, unknown> {
  return {
    id: token.id,
    clientId: token.client.id,
    name: token.name,
    displayPrefix: token.displayPrefix,
    expiresAt: token.expiresAt,
    revokedAt: token.revokedAt,
  };
}
