import { Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { formatUsd, MAX_NANOS, Nanos } from "../billing/money";
import { checkName } from "../common/names";
import { KeyRingService } from "../crypto/key-ring.service";
import { WriteTransactionRunner } from "../database/write-transaction";
import { ModelConfig } from "./entities/model-config.entity";
import {
  BillingMode,
  Provider,
  ProviderKind,
} from "./entities/provider.entity";

export interface ProviderCreate {
  name: string;
  kind: ProviderKind;
  baseUrl: string;
  apiKey: string;
  billingMode: BillingMode;
  supportsStreamOptions?: boolean;
}

export interface ModelCreate {
  providerId: number;
  publicName: string;
  upstreamName?: string;
  inputPrice: Nanos;
  outputPrice: Nanos;
  cacheReadPrice?: Nanos;
  cacheWritePrice?: Nanos;
  cacheWrite1hPrice?: Nanos;
  reasoningPrice?: Nanos | null;
  contextWindow?: number | null;
  maxOutputTokens?: number | null;
}

export interface BalanceChange {
  providerId: number;
  /** Signed nano-dollars; a top-up must be positive. */
  amount: Nanos;
  kind: BalanceTransactionKind.TopUp | BalanceTransactionKind.Adjustment;
  actor: string;
  note?: string | null;
}

/** Raised when provider settings are invalid: a taken name, or a base URL that is not a plain http(s) URL. */
export class ProviderInputRejected extends Error {}

/**
 * Checks a provider base URL and returns it without a trailing slash. Credentials in the URL are rejected
 * because the URL is stored and shown in clear; the API key has its own sealed column.
 */
export function checkBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ProviderInputRejected(
      `'${value}' is not a URL; expected e.g. https://api.openai.com/v1`,
    );
  }

  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ProviderInputRejected(
      `The base URL must use http or https, not ${url.protocol.slice(0, -1)}`,
    );
  }
  if (url.username || url.password) {
    throw new ProviderInputRejected(
      "The base URL must not contain credentials; pass the API key separately",
    );
  }
  if (url.search || url.hash) {
    throw new ProviderInputRejected(
      "The base URL must not have a query string or fragment",
    );
  }

  return url.toString().replace(/\/+$/, "");
}

/** Raised when a balance change is not allowed: wrong billing mode, or it would dip into held credit. */
export class BalanceChangeRejected extends Error {}

/** The additional data that binds a provider's sealed API key to its row. */
export const providerKeyContext = (providerId: number) =>
  `provider:${providerId}`;

/** Creates providers and their models, seals their keys and changes prepaid balances through the ledger. */
@Injectable()
export class ProvidersService {
  constructor(
    private readonly em: EntityManager,
    private readonly keyRing: KeyRingService,
    private readonly transactions: WriteTransactionRunner,
  ) {}

  /** Creates a provider and seals its key; the name must be unused and the base URL a plain http(s) URL. */
  async create(input: ProviderCreate): Promise<Provider> {
    checkName(input.name, "provider");
    const baseUrl = checkBaseUrl(input.baseUrl);
    const em = this.em.fork();
    if (await em.count(Provider, { name: input.name })) {
      throw new ProviderInputRejected(
        `A provider named '${input.name}' already exists`,
      );
    }

    return em.transactional(async (tx) => {
      const provider = tx.create(Provider, {
        name: input.name,
        kind: input.kind,
        baseUrl,
        billingMode: input.billingMode,
        supportsStreamOptions: input.supportsStreamOptions ?? true,
      });
      await tx.flush();
      this.sealKey(provider, input.apiKey);

      return provider;
    });
  }

  /** Replaces a provider's API key; the old ciphertext is overwritten. */
  async setApiKey(providerId: number, apiKey: string): Promise<void> {
    const em = this.em.fork();
    const provider = await em.findOneOrFail(Provider, providerId);
    this.sealKey(provider, apiKey);
    await em.flush();
  }

  /** Opens a provider's API key. Throws when the key id is missing from the ring or the ciphertext was moved. */
  async openApiKey(
    provider: Pick<
      Provider,
      "id" | "apiKeyCiphertext" | "apiKeyNonce" | "apiKeyKeyId"
    >,
  ): Promise<string> {
    if (
      !provider.apiKeyCiphertext ||
      !provider.apiKeyNonce ||
      !provider.apiKeyKeyId
    ) {
      throw new Error(`Provider ${provider.id} has no API key`);
    }

    return this.keyRing.open(
      {
        ciphertext: provider.apiKeyCiphertext,
        nonce: provider.apiKeyNonce,
        keyId: provider.apiKeyKeyId,
      },
      providerKeyContext(provider.id),
    );
  }

  async findByName(name: string): Promise<Provider | null> {
    return this.em.fork().findOne(Provider, { name });
  }

  async list(): Promise<Provider[]> {
    return this.em.fork().find(Provider, {}, { orderBy: { id: "asc" } });
  }

  async addModel(input: ModelCreate): Promise<ModelConfig> {
    const em = this.em.fork();
    const model = em.create(ModelConfig, {
      provider: em.getReference(Provider, input.providerId),
      publicName: input.publicName,
      upstreamName: input.upstreamName ?? input.publicName,
      inputPrice: input.inputPrice,
      outputPrice: input.outputPrice,
      cacheReadPrice: input.cacheReadPrice ?? 0n,
      cacheWritePrice: input.cacheWritePrice ?? 0n,
      cacheWrite1hPrice: input.cacheWrite1hPrice ?? 0n,
      reasoningPrice: input.reasoningPrice ?? null,
      contextWindow: input.contextWindow ?? null,
      maxOutputTokens: input.maxOutputTokens ?? null,
    });
    await em.flush();

    return model;
  }

  /**
   * Adds to or takes from a prepaid balance and writes the ledger entry in the same transaction. An adjustment
   * may not take away credit that pending requests hold. Returns the balance after the change.
   */
  async changeBalance(change: BalanceChange): Promise<Nanos> {
    if (change.amount === 0n) {
      throw new BalanceChangeRejected("The amount must not be zero");
    }
    if (change.kind === BalanceTransactionKind.TopUp && change.amount < 0n) {
      throw new BalanceChangeRejected(
        "A top-up must be positive; use an adjustment to remove credit",
      );
    }

    return this.transactions.run(async (tx) => {
      // Read first, under the transaction's lock, so a refusal can say why and the new balance is checked in
      // bigint arithmetic rather than overflowing the column.
      const current = await tx.all<{
        balance: string;
        reserved: string;
        billing_mode: BillingMode;
      }>(
        `select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved, billing_mode
         from providers where id = ?${tx.forUpdate}`,
        [change.providerId],
      );
      if (current.length === 0) {
        throw new BalanceChangeRejected(
          `Provider ${change.providerId} does not exist`,
        );
      }
      if (current[0].billing_mode !== BillingMode.Prepaid) {
        throw new BalanceChangeRejected(
          `Provider ${change.providerId} is postpaid; only prepaid balances change`,
        );
      }

      const balance = BigInt(current[0].balance);
      const reserved = BigInt(current[0].reserved);
      const target = balance + change.amount;
      if (target < reserved) {
        throw new BalanceChangeRejected(
          `The adjustment would leave ${formatUsd(target)} USD, less than the ${formatUsd(reserved)} USD held by ` +
            `requests in flight; at most ${formatUsd(balance - reserved)} USD can be removed now`,
        );
      }
      if (target > MAX_NANOS) {
        throw new BalanceChangeRejected(
          `The balance would exceed the largest storable amount, ${formatUsd(MAX_NANOS)} USD`,
        );
      }

      const rows = await tx.all<{ balance: string }>(
        `update providers set credit_balance = credit_balance + cast(? as bigint)
         where id = ? and credit_balance + cast(? as bigint) >= credit_reserved
         returning cast(credit_balance as text) as balance`,
        [change.amount, change.providerId, change.amount],
      );

      const balanceAfter = BigInt(rows[0].balance);
      await tx.run(
        `insert into balance_transactions (provider_id, kind, amount, balance_after, actor, note, created_at)
         values (?, ?, cast(? as bigint), cast(? as bigint), ?, ?, ?)`,
        [
          change.providerId,
          change.kind,
          change.amount,
          balanceAfter,
          change.actor,
          change.note ?? null,
          tx.time(new Date()),
        ],
      );

      return balanceAfter;
    });
  }

  private sealKey(provider: Provider, apiKey: string): void {
    const sealed = this.keyRing.seal(apiKey, providerKeyContext(provider.id));
    provider.apiKeyCiphertext = sealed.ciphertext;
    provider.apiKeyNonce = sealed.nonce;
    provider.apiKeyKeyId = sealed.keyId;
    provider.apiKeyLast4 = apiKey.slice(-4);
  }
}
