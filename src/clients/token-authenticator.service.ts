import { Inject, Injectable, Logger } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";

import { unauthorized } from "../common/proxy-error";
import { clearOnEntityChange, TtlCache } from "../common/ttl-cache";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  hashClientToken,
  hashesEqual,
  isWellFormedClientToken,
} from "../crypto/client-token";
import { SECRET_MATERIAL } from "../crypto/crypto.module";
import { SecretMaterial } from "../crypto/secrets-file";
import {
  readTime,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { ClientPrincipal } from "./client-principal";
import { Client, ClientStatus } from "./entities/client.entity";
import { ClientToken } from "./entities/client-token.entity";

interface TokenRow {
  token_id: number;
  token_hash: string;
  client_id: number;
  client_name: string;
  client_status: ClientStatus;
  allowed_models: string | string[] | null;
  has_limits: number | boolean;
  expires_at: number | string | Date | null;
  revoked_at: number | string | Date | null;
}

/**
 * Authenticates a client token. Malformed tokens are rejected before any lookup; the HMAC of a well-formed one
 * is looked up by its unique index. A row found is reused for `proxy.lookupCacheMs`, so a revocation, expiry
 * change or disabled client made by another process (the CLI, another replica) is refused within that time.
 * Changes that this process makes through the ORM clear the cache at once. Expiry dates are checked on every
 * request.
 */
@Injectable()
export class TokenAuthenticator {
  private readonly logger = new Logger(TokenAuthenticator.name);
  /** When this process last wrote each token's `last_used_at`, in epoch milliseconds. */
  private readonly lastUseWritten = new Map<number, number>();
  /** Rows found, by token hash; unknown tokens are never cached, so guessing cannot fill it. */
  private readonly rows: TtlCache<string, TokenRow>;

  constructor(
    private readonly db: WriteTransactionRunner,
    @Inject(SECRET_MATERIAL) private readonly secrets: SecretMaterial,
    @Inject(APP_CONFIG) config: AppConfig,
    orm: MikroORM,
  ) {
    this.rows = new TtlCache(config.proxy.lookupCacheMs);
    clearOnEntityChange(orm, [Client, ClientToken], this.rows);
  }

  async authenticate(
    token: string | undefined,
    now = new Date(),
  ): Promise<ClientPrincipal> {
    if (!token) {
      throw unauthorized(
        "Missing client token. Send it as 'Authorization: Bearer lpx_...' or 'x-api-key: lpx_...'.",
        "missing_api_key",
      );
    }
    if (!isWellFormedClientToken(token)) {
      throw unauthorized(
        "Invalid client token: it is not an llm-proxy token (lpx_...) or its checksum is wrong.",
      );
    }

    const digest = hashClientToken(token, this.secrets.tokenPepper);
    const hash = digest.toString("hex");
    const row = this.rows.get(hash) ?? (await this.lookUp(hash));

    if (!row || !hashesEqual(Buffer.from(row.token_hash, "hex"), digest)) {
      throw unauthorized("Invalid client token: no such token.");
    }
    if (row.revoked_at !== null) {
      throw unauthorized("Client token has been revoked.", "token_revoked");
    }
    if (row.expires_at !== null && readTime(row.expires_at) <= now) {
      throw unauthorized("Client token has expired.", "token_expired");
    }
    if (row.client_status !== ClientStatus.Active) {
      throw unauthorized("Client is disabled.", "client_disabled");
    }

    this.noteUse(row.token_id, now);

    return {
      clientId: row.client_id,
      clientName: row.client_name,
      tokenId: row.token_id,
      allowedModels: parseAllowedModels(row.allowed_models),
      hasLimits: Boolean(row.has_limits),
    };
  }

  private async lookUp(hash: string): Promise<TokenRow | undefined> {
    const rows = await this.db.read<TokenRow>(
      `select t.id as token_id, t.token_hash, c.id as client_id, c.name as client_name, c.status as client_status,
         c.allowed_models, t.expires_at, t.revoked_at,
         (c.requests_per_minute is not null or c.tokens_per_minute is not null
           or c.max_concurrent_requests is not null or c.daily_budget is not null
           or c.monthly_budget is not null) as has_limits
       from client_tokens t join clients c on c.id = t.client_id
       where t.token_hash = ?`,
      [hash],
    );
    if (rows[0]) {
      this.rows.set(hash, rows[0]);
    }
    return rows[0];
  }

  /**
   * Records that a token was used, at most once a minute per token and outside the request's path, so the
   * hot path gains no write. A failed write is logged and retried on a later use.
   */
  private noteUse(tokenId: number, now: Date): void {
    const last = this.lastUseWritten.get(tokenId) ?? 0;
    if (now.getTime() - last < LAST_USE_RESOLUTION_MS) {
      return;
    }

    this.lastUseWritten.set(tokenId, now.getTime());
    this.db
      .run((tx) =>
        tx.run("update client_tokens set last_used_at = ? where id = ?", [
          tx.time(now),
          tokenId,
        ]),
      )
      .catch((error: unknown) => {
        this.lastUseWritten.delete(tokenId);
        this.logger.warn({
          msg: "could not record token use",
          tokenId,
          err: error,
        });
      });
  }
}

/** How often a token's `last_used_at` is rewritten, at most, in milliseconds. */
const LAST_USE_RESOLUTION_MS = 60_000;

/** SQLite returns the JSON column as text, PostgreSQL as a parsed value. */
function parseAllowedModels(value: string | string[] | null): string[] | null {
  if (value === null) {
    return null;
  }
  return typeof value === "string"
    ? (JSON.parse(value) as string[] | null)
    : value;
}
