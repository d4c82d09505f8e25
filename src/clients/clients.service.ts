import { Inject, Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import {
  clientTokenDisplayPrefix,
  generateClientToken,
  hashClientToken,
} from "../crypto/client-token";
import { SECRET_MATERIAL } from "../crypto/crypto.module";
import { SecretMaterial } from "../crypto/secrets-file";
import { checkName } from "../common/names";
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
  ) {}

  /** Creates a client; the name must be unused. */
  async create(
    name: string,
    allowedModels: string[] | null = null,
  ): Promise<Client> {
    checkName(name, "client");
    const em = this.em.fork();
    if (await em.count(Client, { name })) {
      throw new ClientNameTaken(name);
    }

    const client = em.create(Client, { name, allowedModels });
    await em.flush();

    return client;
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

  /** Issues a new token; the returned token is the only copy. */
  async issueToken(
    clientId: number,
    name: string,
    expiresAt: Date | null = null,
  ): Promise<IssuedToken> {
    checkName(name, "token");
    const em = this.em.fork();
    const client = await em.findOneOrFail(Client, clientId);
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

    return { id: row.id, token, displayPrefix: row.displayPrefix, expiresAt };
  }

  async listTokens(clientId: number): Promise<ClientToken[]> {
    return this.em
      .fork()
      .find(ClientToken, { client: clientId }, { orderBy: { id: "asc" } });
  }

  /** Revokes a token at once; returns false when it was already revoked. */
  async revokeToken(tokenId: number): Promise<boolean> {
    const em = this.em.fork();
    const token = await em.findOne(ClientToken, tokenId);
    if (!token) {
      throw new Error(
        `No token with id ${tokenId}; list them with: token list CLIENT`,
      );
    }
    if (token.revokedAt) {
      return false;
    }
    token.revokedAt = new Date();
    await em.flush();

    return true;
  }
}
