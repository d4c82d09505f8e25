import "reflect-metadata";

import { userInfo } from "node:os";

import { INestApplicationContext } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Argument, Command, InvalidArgumentError, Option } from "commander";

import { AuditActor } from "../audit/audit";
import { BalanceTransactionKind } from "../billing/entities/balance-transaction.entity";
import { formatUsd, parseUsd } from "../billing/money";
import { BUNDLED_PRICE_CATALOG } from "../billing/price-catalog/bundled-catalog";
import { ClientsService } from "../clients/clients.service";
import { loadConfig } from "../config/load-config";
import { DatabaseHealthService } from "../maintenance/database-health.service";
import { JobOutcome } from "../maintenance/entities/job-run.entity";
import { JOB_NAMES, JobName } from "../maintenance/job";
import { JobRunner } from "../maintenance/job-runner.service";
import { JobStatusService } from "../maintenance/job-status.service";
import {
  formatHealth,
  formatJobStatus,
  formatRunReport,
} from "../maintenance/report-format";
import { ModelConfig } from "../providers/entities/model-config.entity";
import {
  BillingMode,
  Provider,
  ProviderKind,
} from "../providers/entities/provider.entity";
import {
  checkProviderConnection,
  MAX_PROVIDER_TIMEOUT_MS,
  ModelUpdate,
  ProvidersService,
  ProviderUpdate,
} from "../providers/providers.service";
import { CliModule } from "./cli.module";
import { KeyRotationService } from "./key-rotation.service";
import { readSecret } from "./read-secret";
import { StderrLogger } from "./stderr-logger";
import { registerClientCommands } from "./clients-commands";
import { registerUserCommands } from "./users-commands";

/** Runs one command inside an application context that has applied migrations, then closes it. */
async function withApp<T>(
  work: (app: INestApplicationContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(
    CliModule.register(config),
    { logger: new StderrLogger({ logLevels: ["error", "warn"] }) },
  );
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

async function providerId(
  app: INestApplicationContext,
  name: string,
): Promise<number> {
  const provider = await app.get(ProvidersService).findByName(name);
  if (!provider) {
    throw new Error(
      `No provider named '${name}'. List them with: npm run cli -- provider list`,
    );
  }
  return provider.id;
}

async function clientId(
  app: INestApplicationContext,
  name: string,
): Promise<number> {
  const client = await app.get(ClientsService).findByName(name);
  if (!client) {
    throw new Error(
      `No client named '${name}'. List them with: npm run cli -- client list`,
    );
  }
  return client.id;
}

const usd = (value: string) => {
  try {
    return parseUsd(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

const signedUsd = (value: string) =>
  value.startsWith("-") ? -usd(value.slice(1)) : usd(value);

const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new InvalidArgumentError(`'${value}' is not a positive whole number`);
  }
  return parsed;
};

const nonNegativeInt = (value: string) =>
  value === "0" ? 0 : positiveInt(value);

/** Parses a provider timeout in milliseconds, from 1 to one hour. */
const timeout = (value: string) => {
  const parsed = positiveInt(value);
  if (parsed > MAX_PROVIDER_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `'${value}' exceeds the maximum of ${MAX_PROVIDER_TIMEOUT_MS} milliseconds`,
    );
  }
  return parsed;
};

/**
 * Parses a timeout, or `default` for the configured default. The word stays a string here because commander 14
 * replaces a null from a parser with an empty string.
 */
const timeoutOrDefault = (value: string): number | "default" =>
  value === "default" ? "default" : timeout(value);

/** Copies the options that were given, turning `default` into null. */
function givenSettings<T extends object>(options: T): Partial<T> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) {
      given[key] = value === "default" ? null : value;
    }
  }
  return given as Partial<T>;
}

const TIMEOUT_OPTIONS = {
  connect: [
    "--connect-timeout-ms <ms>",
    "milliseconds to open a connection (default: proxy.connectTimeoutMs)",
  ],
  firstToken: [
    "--first-token-timeout-ms <ms>",
    "milliseconds from sending the request to the first stream event, or the whole body when not streamed (default: proxy.headersTimeoutMs)",
  ],
  total: [
    "--total-timeout-ms <ms>",
    "milliseconds for the whole call, body included (default: routing.totalTimeoutMs)",
  ],
} as const;

/** Formats the connection settings of a provider for listings. */
function describeProvider(row: Provider): string {
  const ms = (value: number | null) =>
    value === null ? "default" : `${value}ms`;
  return [
    `api-version=${row.apiVersion ?? "-"}`,
    `connect=${ms(row.connectTimeoutMs)}`,
    `first-token=${ms(row.firstTokenTimeoutMs)}`,
    `total=${ms(row.totalTimeoutMs)}`,
  ].join("\t");
}

/** Formats one model config on one line: id, provider, names, routing, state and prices in USD per million tokens. */
function describeModel(row: ModelConfig): string {
  const usd = (value: bigint | null) =>
    value === null ? "-" : formatUsd(value);
  return [
    row.id,
    row.provider.name,
    row.publicName,
    `upstream=${row.upstreamName}`,
    `priority=${row.priority}`,
    `weight=${row.weight}`,
    row.enabled ? "enabled" : "disabled",
    `input=${usd(row.inputPrice)}`,
    `output=${usd(row.outputPrice)}`,
    `cache-read=${usd(row.cacheReadPrice)}`,
    `cache-write=${usd(row.cacheWritePrice)}`,
    `cache-write-1h=${usd(row.cacheWrite1hPrice)}`,
    `reasoning=${usd(row.reasoningPrice)}`,
  ].join("\t");
}

const actor = () => `cli:${userInfo().username}`;

/** Changes made here are audited under the operating-system user who ran the tool. */
const auditActor = (): AuditActor => ({ userId: null, username: actor() });

const program = new Command("llm-proxy")
  .description(
    "Set up llm-proxy: clients, tokens, providers, models and prepaid credit. Amounts are USD.",
  )
  .showHelpAfterError();

registerClientCommands(program, withApp);

const token = program
  .command("token")
  .description("Client tokens; a new token is printed once and never stored");

token
  .command("create <client>")
  .description("Issue a token for a client")
  .option("--name <name>", "label for the token", "default")
  .option(
    "--expires-days <days>",
    "expire after this many days, at most 36500",
    (value: string) => {
      const days = positiveInt(value);
      if (days > 36_500) {
        throw new InvalidArgumentError("at most 36500 days (100 years)");
      }
      return days;
    },
  )
  .action(
    async (
      clientName: string,
      options: { name: string; expiresDays?: number },
    ) => {
      const expiresAt = options.expiresDays
        ? new Date(Date.now() + options.expiresDays * 86_400_000)
        : null;
      const issued = await withApp(async (app) =>
        app
          .get(ClientsService)
          .issueToken(
            await clientId(app, clientName),
            options.name,
            expiresAt,
            auditActor(),
          ),
      );
      console.error(
        `token ${issued.displayPrefix}... (id ${issued.id}) for ${clientName}; it is shown only now:`,
      );
      console.log(issued.token);
    },
  );

token
  .command("list <client>")
  .description("List a client's tokens by display prefix")
  .action(async (clientName: string) => {
    const rows = await withApp(async (app) =>
      app.get(ClientsService).listTokens(await clientId(app, clientName)),
    );
    for (const row of rows) {
      const state = row.revokedAt
        ? "revoked"
        : row.expiresAt && row.expiresAt <= new Date()
          ? "expired"
          : "active";
      console.log(
        `${row.id}\t${row.displayPrefix}...\t${row.name}\t${state}\texpires=${row.expiresAt?.toISOString() ?? "never"}`,
      );
    }
  });

token
  .command("revoke <id>")
  .description("Revoke a token by id; it is refused from the next request on")
  .action(async (id: string) => {
    const revoked = await withApp((app) =>
      app.get(ClientsService).revokeToken(positiveInt(id), auditActor()),
    );
    console.log(
      revoked ? `token ${id} revoked` : `token ${id} was already revoked`,
    );
  });

/** Options of `provider set`; a timeout of `default` resets it to the configured default. */
interface ProviderSetOptions {
  baseUrl?: string;
  apiVersion?: string;
  connectTimeoutMs?: number | "default";
  firstTokenTimeoutMs?: number | "default";
  totalTimeoutMs?: number | "default";
}

const provider = program
  .command("provider")
  .description("Upstream APIs and their prepaid credit");

provider
  .command("create <name>")
  .description(
    "Create a provider; its API key is read from standard input, or from --api-key-env",
  )
  .option(
    "--base-url <url>",
    "base URL including the version path, e.g. https://api.openai.com/v1; Azure takes https://NAME.openai.azure.com " +
      "(default: the kind's public API; Azure has none)",
  )
  .addOption(
    new Option(
      "--kind <kind>",
      "wire format and authentication: openai (any OpenAI-compatible API), anthropic, azure, gemini",
    )
      .choices(Object.values(ProviderKind))
      .default(ProviderKind.OpenAi),
  )
  .option(
    "--api-version <version>",
    "Azure's api-version, e.g. 2024-10-21 (required for azure)",
  )
  .addOption(
    new Option("--billing <mode>", "billing mode")
      .choices(Object.values(BillingMode))
      .default(BillingMode.Postpaid),
  )
  .option(
    "--api-key-env <variable>",
    "read the API key from this environment variable instead of standard input",
  )
  .option(
    "--no-stream-options",
    "the provider rejects stream_options; stream usage is then estimated",
  )
  .option(...TIMEOUT_OPTIONS.connect, timeout)
  .option(...TIMEOUT_OPTIONS.firstToken, timeout)
  .option(...TIMEOUT_OPTIONS.total, timeout)
  .action(
    async (
      name: string,
      options: {
        baseUrl?: string;
        kind: ProviderKind;
        apiVersion?: string;
        billing: BillingMode;
        apiKeyEnv?: string;
        streamOptions: boolean;
        connectTimeoutMs?: number;
        firstTokenTimeoutMs?: number;
        totalTimeoutMs?: number;
      },
    ) => {
      const connection = {
        baseUrl: options.baseUrl,
        apiVersion: options.apiVersion,
        connectTimeoutMs: options.connectTimeoutMs,
        firstTokenTimeoutMs: options.firstTokenTimeoutMs,
        totalTimeoutMs: options.totalTimeoutMs,
      };
      // Checked before the key is read, so an invalid setting fails before the operator pastes a key.
      checkProviderConnection(options.kind, connection);
      const apiKey = await readSecret(
        `API key for ${name}: `,
        options.apiKeyEnv,
      );
      const created = await withApp((app) =>
        app.get(ProvidersService).create(
          {
            name,
            kind: options.kind,
            ...connection,
            apiKey,
            billingMode: options.billing,
            supportsStreamOptions: options.streamOptions,
          },
          auditActor(),
        ),
      );
      console.log(
        `created provider ${created.name} (id ${created.id}, ${created.kind}, ${created.baseUrl}, ` +
          `${created.billingMode}, key ...${created.apiKeyLast4})`,
      );
    },
  );

provider
  .command("set <name>")
  .description(
    "Change a provider's base URL, API version or timeouts; 'default' resets a timeout to the configured default",
  )
  .option("--base-url <url>", "base URL including the version path")
  .option("--api-version <version>", "Azure's api-version, e.g. 2024-10-21")
  .option(...TIMEOUT_OPTIONS.connect, timeoutOrDefault)
  .option(...TIMEOUT_OPTIONS.firstToken, timeoutOrDefault)
  .option(...TIMEOUT_OPTIONS.total, timeoutOrDefault)
  .action(async (name: string, options: ProviderSetOptions) => {
    const changes = givenSettings(options) as ProviderUpdate;
    if (Object.keys(changes).length === 0) {
      throw new Error(
        "Give at least one setting to change; see: npm run cli -- provider set --help",
      );
    }
    const updated = await withApp(async (app) =>
      app
        .get(ProvidersService)
        .update(await providerId(app, name), changes, auditActor()),
    );
    console.log(
      `provider ${updated.name} updated: ${describeProvider(updated)}`,
    );
  });

provider
  .command("set-key <name>")
  .description(
    "Replace a provider's API key, read from standard input or --api-key-env",
  )
  .option(
    "--api-key-env <variable>",
    "read the API key from this environment variable",
  )
  .action(async (name: string, options: { apiKeyEnv?: string }) => {
    const apiKey = await readSecret(
      `New API key for ${name}: `,
      options.apiKeyEnv,
    );
    await withApp(async (app) =>
      app
        .get(ProvidersService)
        .setApiKey(await providerId(app, name), apiKey, auditActor()),
    );
    console.log(`API key of ${name} replaced (...${apiKey.slice(-4)})`);
  });

provider
  .command("list")
  .description("List providers with their balances")
  .action(async () => {
    const rows = await withApp((app) => app.get(ProvidersService).list());
    for (const row of rows) {
      console.log(
        `${row.id}\t${row.name}\t${row.kind}\t${row.billingMode}\t${row.baseUrl}\tkey=...${row.apiKeyLast4 ?? ""}\t` +
          `balance=${formatUsd(row.creditBalance)} USD\treserved=${formatUsd(row.creditReserved)} USD\t` +
          describeProvider(row),
      );
    }
  });

provider
  .command("topup <name> <amount>")
  .description("Add prepaid credit (USD, e.g. 25.00); recorded in the ledger")
  .option("--note <text>", "why, for the ledger")
  .action(async (name: string, amount: string, options: { note?: string }) => {
    const { balanceAfter: balance } = await withApp(async (app) =>
      app.get(ProvidersService).recordBalanceChange(
        {
          providerId: await providerId(app, name),
          amount: usd(amount),
          kind: BalanceTransactionKind.TopUp,
          actor: actor(),
          note: options.note,
        },
        auditActor(),
      ),
    );
    console.log(`balance of ${name} is now ${formatUsd(balance)} USD`);
  });

provider
  .command("adjust <name> <amount>")
  .description(
    "Correct prepaid credit by a signed amount (USD, e.g. -1.25); recorded in the ledger",
  )
  .requiredOption("--note <text>", "why, for the ledger")
  .action(async (name: string, amount: string, options: { note: string }) => {
    const { balanceAfter: balance } = await withApp(async (app) =>
      app.get(ProvidersService).recordBalanceChange(
        {
          providerId: await providerId(app, name),
          amount: signedUsd(amount),
          kind: BalanceTransactionKind.Adjustment,
          actor: actor(),
          note: options.note,
        },
        auditActor(),
      ),
    );
    console.log(`balance of ${name} is now ${formatUsd(balance)} USD`);
  });

const model = program
  .command("model")
  .description("Models, their prices and routing");

model
  .command("add <provider> <public-name>")
  .description(
    "Serve a model through a provider; prices are USD per million tokens, and prices or limits left out are " +
      "taken from the price catalog (see: model catalog)",
  )
  .option(
    "--input <usd>",
    "input price (required without a catalog entry)",
    usd,
  )
  .option(
    "--output <usd>",
    "output price (required without a catalog entry)",
    usd,
  )
  .option("--cache-read <usd>", "cached input price", usd)
  .option("--cache-write <usd>", "cache write price (default lifetime)", usd)
  .option(
    "--cache-write-1h <usd>",
    "cache write price (one hour lifetime)",
    usd,
  )
  .option(
    "--reasoning <usd>",
    "reasoning price, when billed apart from output",
    usd,
  )
  .option(
    "--upstream-name <name>",
    "model name sent to the provider (default: the public name)",
  )
  .option("--context-window <tokens>", "context window", positiveInt)
  .option(
    "--max-output <tokens>",
    "output limit, used to reserve prepaid credit",
    positiveInt,
  )
  .option(
    "--priority <n>",
    "routing order among providers of the same public name, lower first (default 0)",
    nonNegativeInt,
  )
  .option(
    "--weight <n>",
    "share of traffic among routes of equal priority (default 1)",
    positiveInt,
  )
  .action(
    async (
      providerName: string,
      publicName: string,
      options: {
        input?: bigint;
        output?: bigint;
        cacheRead?: bigint;
        cacheWrite?: bigint;
        cacheWrite1h?: bigint;
        reasoning?: bigint;
        upstreamName?: string;
        contextWindow?: number;
        maxOutput?: number;
        priority?: number;
        weight?: number;
      },
    ) => {
      const { model: created, priceSource } = await withApp(async (app) =>
        app.get(ProvidersService).addModelWithSource(
          {
            providerId: await providerId(app, providerName),
            publicName,
            upstreamName: options.upstreamName,
            inputPrice: options.input,
            outputPrice: options.output,
            cacheReadPrice: options.cacheRead,
            cacheWritePrice: options.cacheWrite,
            cacheWrite1hPrice: options.cacheWrite1h,
            reasoningPrice: options.reasoning,
            contextWindow: options.contextWindow,
            maxOutputTokens: options.maxOutput,
            priority: options.priority,
            weight: options.weight,
          },
          auditActor(),
        ),
      );
      console.log(
        `model ${created.publicName} added to ${providerName} (id ${created.id})`,
      );
      if (priceSource) {
        console.log(
          `from the price catalog (${priceSource.model}, ${priceSource.source}, checked ${priceSource.pricesCheckedOn}): ` +
            priceSource.fields.join(", "),
        );
      }
    },
  );

model
  .command("set <id>")
  .description("Change a model config's routing or availability")
  .option(
    "--priority <n>",
    "routing order among providers of the same public name, lower first",
    nonNegativeInt,
  )
  .option(
    "--weight <n>",
    "share of traffic among routes of equal priority",
    positiveInt,
  )
  .option("--enable", "serve the model")
  .option("--disable", "stop serving the model")
  .action(
    async (
      id: string,
      options: {
        priority?: number;
        weight?: number;
        enable?: boolean;
        disable?: boolean;
      },
    ) => {
      if (options.enable && options.disable) {
        throw new Error("Give --enable or --disable, not both");
      }
      const changes: ModelUpdate = givenSettings({
        priority: options.priority,
        weight: options.weight,
      });
      if (options.enable || options.disable) {
        changes.enabled = options.enable === true;
      }
      if (Object.keys(changes).length === 0) {
        throw new Error(
          "Give at least one setting to change; see: npm run cli -- model set --help",
        );
      }
      const updated = await withApp((app) =>
        app
          .get(ProvidersService)
          .updateModel(positiveInt(id), changes, auditActor()),
      );
      console.log(`model ${updated.id} updated: ${describeModel(updated)}`);
    },
  );

model
  .command("list")
  .description(
    "List model configs with their provider, routing and prices (USD per million tokens)",
  )
  .option("--provider <name>", "only the models of this provider")
  .option("--public-name <name>", "only the routes of this public name")
  .action(async (options: { provider?: string; publicName?: string }) => {
    const rows = await withApp(async (app) =>
      app
        .get(ProvidersService)
        .listModels(
          options.provider === undefined
            ? undefined
            : await providerId(app, options.provider),
          options.publicName,
        ),
    );
    for (const row of rows) {
      console.log(describeModel(row));
    }
  });

model
  .command("catalog")
  .description(
    "List the price catalog: published prices (USD per million tokens) that fill the prices a new model leaves out",
  )
  .addOption(
    new Option(
      "--kind <kind>",
      "only the models of this provider kind",
    ).choices([
      ProviderKind.OpenAi,
      ProviderKind.Anthropic,
      ProviderKind.Gemini,
    ]),
  )
  .action((options: { kind?: ProviderKind }) => {
    for (const entry of BUNDLED_PRICE_CATALOG.entries) {
      if (options.kind && entry.provider !== options.kind) {
        continue;
      }
      const { prices } = entry;
      const names = [entry.model, ...entry.aliases, ...entry.snapshots];
      console.log(
        [
          entry.provider,
          names.join(","),
          `input=${formatUsd(prices.inputPrice)}`,
          `output=${formatUsd(prices.outputPrice)}`,
          `cache-read=${formatUsd(prices.cacheReadPrice)}`,
          `cache-write=${formatUsd(prices.cacheWritePrice)}`,
          `cache-write-1h=${formatUsd(prices.cacheWrite1hPrice)}`,
          `checked ${entry.pricesCheckedOn} against ${entry.source}`,
        ].join("\t"),
      );
    }
  });

program
  .command("migrate")
  .description("Apply pending database migrations and exit")
  .action(async () => {
    await withApp(async () => undefined);
    console.log("database is up to date");
  });

const keys = program
  .command("keys")
  .description("Master keys that seal provider API keys");

keys
  .command("rotate")
  .description(
    "Add a new master key to the secrets file and re-encrypt every provider key with it",
  )
  .action(async () => {
    const result = await withApp((app) => app.get(KeyRotationService).rotate());
    console.log(
      `re-encrypted ${result.providers} provider keys under master key ${result.keyId}`,
    );
  });

keys
  .command("reseal")
  .description(
    "Re-encrypt every provider key under the newest master key, e.g. after adding one to LLM_PROXY_MASTER_KEYS",
  )
  .action(async () => {
    const count = await withApp((app) => app.get(KeyRotationService).reseal());
    console.log(
      `re-encrypted ${count} provider keys under the newest master key`,
    );
  });

program
  .command("db")
  .description("The database's state")
  .command("health")
  .description(
    "Show table rows and sizes, index usage, the last ANALYZE, the WAL size and the connection pool",
  )
  .option("--json", "print the report as JSON")
  .action(async (options: { json?: boolean }) => {
    const report = await withApp((app) =>
      app.get(DatabaseHealthService).report(),
    );
    if (options.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    for (const line of formatHealth(report)) {
      console.log(line);
    }
  });

const jobs = program
  .command("jobs")
  .description(`Maintenance jobs: ${JOB_NAMES.join(", ")}`);

jobs
  .command("list")
  .description("Show each job's schedule, lease and latest run")
  .action(async () => {
    const statuses = await withApp((app) => app.get(JobStatusService).list());
    for (const status of statuses) {
      console.log(formatJobStatus(status));
    }
  });

jobs
  .command("run")
  .description(
    "Run a job now and record the run, unless another process holds its lease; exits with 1 if it failed or did not run",
  )
  .addArgument(new Argument("<name>", "job to run").choices(JOB_NAMES))
  .option(
    "--time-budget-ms <ms>",
    "stop at the next batch after this many milliseconds (default: the job's maintenance.jobs.<name>.timeBudgetMs)",
    positiveInt,
  )
  .action(async (name: JobName, options: { timeBudgetMs?: number }) => {
    const report = await withApp((app) =>
      app
        .get(JobRunner)
        .run(name, { tick: null, timeBudgetMs: options.timeBudgetMs }),
    );
    const [summary, ...detail] = formatRunReport(report);
    if (report.status === "skipped") {
      console.error(summary);
      process.exitCode = 1;
      return;
    }

    console.log(summary);
    for (const line of detail) {
      console.log(line);
    }
    if (report.outcome === JobOutcome.Failed) {
      process.exitCode = 1;
    }
  });

registerUserCommands(program, withApp);

program.parseAsync().catch((error: unknown) => {
  console.error(
    `error: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exitCode = 1;
});
