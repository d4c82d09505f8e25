import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { parseUsd } from "../billing/money";
import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { ClientsService } from "../clients/clients.service";
import { Client } from "../clients/entities/client.entity";
import { TokenAuthenticator } from "../clients/token-authenticator.service";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  BillingMode,
  Provider,
  ProviderKind,
} from "../providers/entities/provider.entity";
import { ProvidersService } from "../providers/providers.service";
import { DemoUpstream } from "./demo-upstream";

const DEMO_CLIENT = "demo-client";
const DEMO_PROVIDER = "demo-stand-in";
const DEMO_MODEL = "demo-model";

/**
 * In demo mode, starts the local stand-in provider and makes sure a prepaid provider, a priced model and a
 * client exist. The client's token is written once to a file readable only by this user, never to the log.
 */
@Injectable()
export class DemoSeeder
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(DemoSeeder.name);
  private upstream: DemoUpstream | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly clients: ClientsService,
    private readonly providers: ProvidersService,
    private readonly authenticator: TokenAuthenticator,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Path of the file that holds the demo client's token. */
  get tokenFile(): string {
    return join(dirname(this.config.secrets.file), "demo-token.txt");
  }

  async onApplicationBootstrap(): Promise<void> {
    this.upstream = await DemoUpstream.start();
    const provider = await this.ensureProvider(this.upstream.baseUrl);
    const client =
      (await this.clients.findByName(DEMO_CLIENT)) ??
      (await this.clients.create(DEMO_CLIENT));
    // The demo token reaches the demo model only, so a data folder reused for a real setup later does not
    // leave a token with access to paid models.
    await this.em
      .fork()
      .nativeUpdate(Client, { id: client.id }, { allowedModels: [DEMO_MODEL] });
    await this.ensureToken(client.id);

    this.logger.log({
      msg: "demo mode: a local stand-in provider answers every request; it is not a real model",
      provider: provider.name,
      model: DEMO_MODEL,
      client: DEMO_CLIENT,
      tokenFile: this.tokenFile,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.upstream?.stop();
  }

  private async ensureProvider(baseUrl: string): Promise<Provider> {
    const existing = await this.providers.findByName(DEMO_PROVIDER);
    if (existing) {
      const em = this.em.fork();
      await em.nativeUpdate(Provider, { id: existing.id }, { baseUrl });
      return existing;
    }

    const provider = await this.providers.create({
      name: DEMO_PROVIDER,
      kind: ProviderKind.OpenAi,
      baseUrl,
      apiKey: "demo-key-not-secret",
      billingMode: BillingMode.Prepaid,
    });
    await this.providers.addModel({
      providerId: provider.id,
      publicName: DEMO_MODEL,
      inputPrice: parseUsd("2.50"),
      outputPrice: parseUsd("10.00"),
      cacheReadPrice: parseUsd("1.25"),
      maxOutputTokens: 4096,
    });
    await this.providers.changeBalance({
      providerId: provider.id,
      amount: parseUsd("5.00"),
      kind: BalanceTransactionKind.TopUp,
      actor: "demo",
      note: "demo credit",
    });

    return provider;
  }

  /** Keeps the token in the file valid, issuing a new one when the file is missing or its token no longer works. */
  private async ensureToken(clientId: number): Promise<void> {
    if (existsSync(this.tokenFile)) {
      const token = readFileSync(this.tokenFile, "utf8").trim();
      const valid = await this.authenticator.authenticate(token).then(
        () => true,
        () => false,
      );
      if (valid) {
        return;
      }
    }

    const issued = await this.clients.issueToken(clientId, "demo");
    mkdirSync(dirname(this.tokenFile), { recursive: true, mode: 0o700 });
    writeFileSync(this.tokenFile, `${issued.token}\n`, { mode: 0o600 });
  }
}
