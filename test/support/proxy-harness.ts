import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { NestFastifyApplication } from "@nestjs/platform-fastify";
import OpenAI from "openai";

import { AccountingService } from "../../src/billing/accounting.service";
import { BalanceTransactionKind } from "../../src/billing/entities/balance-transaction.entity";
import { parseUsd } from "../../src/billing/money";
import { createApp } from "../../src/bootstrap";
import { ClientsService } from "../../src/clients/clients.service";
import { AppConfig } from "../../src/config/config.schema";
import { loadConfig } from "../../src/config/load-config";
import {
  BillingMode,
  ProviderKind,
} from "../../src/providers/entities/provider.entity";
import { ProvidersService } from "../../src/providers/providers.service";
import { InFlightRequests } from "../../src/proxy/in-flight.service";
import {
  createPostgresDatabase,
  DatabaseReader,
  dropPostgresDatabase,
  TEST_DIALECT,
} from "./test-database";

/** Settings a test may override, by section. */
export type ConfigOverrides = {
  [Section in keyof AppConfig]?: Partial<AppConfig[Section]>;
};

/** Prices used by default in tests, USD per million tokens. */
export const TEST_PRICES = {
  input: "2.50",
  output: "10.00",
  cacheRead: "1.25",
  cacheWrite: "3.125",
  reasoning: null as string | null,
};

/**
 * A running llm-proxy on 127.0.0.1 with its own database (a SQLite file, or a fresh PostgreSQL database when
 * TEST_DATABASE=postgres), secrets file and spool folder in a fresh temporary folder, plus helpers to seed it
 * and read its database.
 */
export class ProxyHarness {
  private constructor(
    readonly app: NestFastifyApplication,
    readonly config: AppConfig,
    readonly folder: string,
    readonly databaseUrl: string | null,
    readonly baseUrl: string,
    private readonly reader: DatabaseReader,
  ) {}

  /**
   * Starts the proxy on `server.port` (0, any free port, unless overridden); pass `reuse` to reopen the files and
   * database of an earlier, stopped harness.
   */
  static async start(
    overrides: ConfigOverrides = {},
    reuse?: { folder: string; databaseUrl: string | null },
  ): Promise<ProxyHarness> {
    const folder =
      reuse?.folder ?? mkdtempSync(join(tmpdir(), "llm-proxy-test-"));
    const databaseUrl = reuse
      ? reuse.databaseUrl
      : TEST_DIALECT === "postgresql"
        ? await createPostgresDatabase()
        : null;
    const config = testConfig(folder, overrides, databaseUrl);
    const app = await createApp(config);
    await app.listen(config.server.port, "127.0.0.1");
    const reader = await DatabaseReader.open({ folder, databaseUrl });

    return new ProxyHarness(
      app,
      config,
      folder,
      databaseUrl,
      await app.getUrl(),
      reader,
    );
  }

  /**
   * Stops the proxy. With `keepFiles` its folder and database stay, so a later harness can reopen them;
   * otherwise both are deleted.
   */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    await this.app.close();
    await this.reader.close();
    if (options.keepFiles) {
      return;
    }

    rmSync(this.folder, { recursive: true, force: true });
    if (this.databaseUrl) {
      await dropPostgresDatabase(this.databaseUrl);
    }
  }

  /** Waits until every request in flight has written its record; answers go out before their records. */
  async settled(): Promise<void> {
    await this.app.get(InFlightRequests).idle();
  }

  get clients(): ClientsService {
    return this.app.get(ClientsService);
  }

  get providers(): ProvidersService {
    return this.app.get(ProvidersService);
  }

  get accounting(): AccountingService {
    return this.app.get(AccountingService);
  }

  /** An official OpenAI SDK client pointed at the proxy, with retries off so each call is one request. */
  openai(token: string, options: { requestId?: string } = {}): OpenAI {
    return new OpenAI({
      apiKey: token,
      baseURL: `${this.baseUrl}/v1`,
      maxRetries: 0,
      defaultHeaders: options.requestId
        ? { "x-request-id": options.requestId }
        : undefined,
    });
  }

  /** Runs a statement on the proxy's database over the test's own connection; see {@link DatabaseReader}. */
  async query<T = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> {
    return this.reader.query<T>(sql, params);
  }

  /**
   * Creates a provider for an upstream with one priced model; prepaid providers get `balance` USD of credit.
   * The provider is OpenAI-compatible unless `kind` sets another kind; an Azure provider needs `apiVersion`.
   */
  async seedProvider(options: {
    baseUrl: string;
    model?: string;
    upstreamName?: string;
    billing?: BillingMode;
    balance?: string;
    name?: string;
    apiKey?: string;
    prices?: Partial<typeof TEST_PRICES> & { cacheWrite1h?: string };
    maxOutputTokens?: number | null;
    supportsStreamOptions?: boolean;
    kind?: ProviderKind;
    apiVersion?: string | null;
    connectTimeoutMs?: number | null;
    firstTokenTimeoutMs?: number | null;
    totalTimeoutMs?: number | null;
    priority?: number;
    weight?: number;
  }): Promise<{ providerId: number; modelConfigId: number; apiKey: string }> {
    const apiKey =
      options.apiKey ??
      `sk-test-${Math.random().toString(36).slice(2)}upstream`;
    const provider = await this.providers.create({
      name:
        options.name ?? `provider-${Math.random().toString(36).slice(2, 8)}`,
      kind: options.kind ?? ProviderKind.OpenAi,
      baseUrl: options.baseUrl,
      apiVersion: options.apiVersion,
      connectTimeoutMs: options.connectTimeoutMs,
      firstTokenTimeoutMs: options.firstTokenTimeoutMs,
      totalTimeoutMs: options.totalTimeoutMs,
      apiKey,
      billingMode: options.billing ?? BillingMode.Postpaid,
      supportsStreamOptions: options.supportsStreamOptions,
    });
    const modelConfigId = await this.seedModel(provider.id, options);
    if (options.balance) {
      await this.providers.changeBalance({
        providerId: provider.id,
        amount: parseUsd(options.balance),
        kind: BalanceTransactionKind.TopUp,
        actor: "test",
      });
    }

    return { providerId: provider.id, modelConfigId, apiKey };
  }

  /**
   * Adds a priced model to an existing provider, e.g. a second route for a public name, and returns its id.
   * Prices default to {@link TEST_PRICES}, given explicitly so the price catalog fills none of them.
   */
  async seedModel(
    providerId: number,
    options: {
      model?: string;
      upstreamName?: string;
      prices?: Partial<typeof TEST_PRICES> & { cacheWrite1h?: string };
      maxOutputTokens?: number | null;
      priority?: number;
      weight?: number;
    } = {},
  ): Promise<number> {
    const prices = { ...TEST_PRICES, ...options.prices };
    const model = await this.providers.addModel({
      providerId,
      publicName: options.model ?? "gpt-4o-mini",
      upstreamName: options.upstreamName,
      inputPrice: parseUsd(prices.input),
      outputPrice: parseUsd(prices.output),
      cacheReadPrice: parseUsd(prices.cacheRead),
      cacheWritePrice: parseUsd(prices.cacheWrite),
      cacheWrite1hPrice: parseUsd(prices.cacheWrite1h ?? "0"),
      reasoningPrice:
        prices.reasoning === null ? null : parseUsd(prices.reasoning),
      contextWindow: null,
      maxOutputTokens:
        options.maxOutputTokens === undefined ? 1000 : options.maxOutputTokens,
      priority: options.priority,
      weight: options.weight,
    });

    return model.id;
  }

  /** Creates a client with one token. */
  async seedClient(
    options: {
      name?: string;
      models?: string[] | null;
      expiresAt?: Date | null;
    } = {},
  ) {
    const client = await this.clients.create(
      options.name ?? `client-${Math.random().toString(36).slice(2, 8)}`,
      options.models ?? null,
    );
    const issued = await this.clients.issueToken(
      client.id,
      "test",
      options.expiresAt ?? null,
    );

    return { clientId: client.id, tokenId: issued.id, token: issued.token };
  }

  /** The accounting state tests compare before and after a call, once every request in flight is recorded. */
  async snapshot(providerId: number, clientId: number) {
    await this.settled();

    const [provider] = await this.query<{ balance: string; reserved: string }>(
      "select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved from providers where id = ?",
      [providerId],
    );
    const [client] = await this.query<{
      requests: number;
      cost: string;
      prompt: number;
      completion: number;
    }>(
      `select total_requests as requests, cast(total_cost as text) as cost, total_prompt_tokens as prompt,
         total_completion_tokens as completion from clients where id = ?`,
      [clientId],
    );
    const [rows] = await this.query<{ n: number }>(
      "select count(*) as n from llm_requests",
    );
    const [ledger] = await this.query<{ n: number }>(
      "select count(*) as n from balance_transactions",
    );

    return {
      balance: BigInt(provider.balance),
      reserved: BigInt(provider.reserved),
      clientRequests: client.requests,
      clientCost: BigInt(client.cost),
      clientPrompt: client.prompt,
      clientCompletion: client.completion,
      requestRows: rows.n,
      ledgerRows: ledger.n,
    };
  }
}

/**
 * Configuration for a test instance: files in `folder`, the given PostgreSQL database or a SQLite file, a random
 * port, single-attempt routing, and logs off unless LOG_LEVEL is set.
 */
export function testConfig(
  folder: string,
  overrides: ConfigOverrides = {},
  databaseUrl: string | null = null,
): AppConfig {
  const base = loadConfig({
    DATABASE_URL: databaseUrl ?? undefined,
    SQLITE_PATH: join(folder, "proxy.sqlite"),
    SECRETS_FILE: join(folder, "secrets.json"),
    SPOOL_DIR: join(folder, "spool"),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    PORT: "0",
  });

  // One attempt and no circuit breaker, so a test that scripts a failure sees that failure; the routing tests
  // turn failover and the breaker on through `overrides`.
  const merged = {
    ...base,
    routing: { ...base.routing, maxAttempts: 1, breakerFailureThreshold: 0 },
  } as Record<string, unknown>;
  for (const [section, values] of Object.entries(overrides)) {
    merged[section] = {
      ...(base as Record<string, object>)[section],
      ...values,
    };
  }

  return merged as AppConfig;
}
