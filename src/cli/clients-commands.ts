import { userInfo } from "node:os";

import { INestApplicationContext } from "@nestjs/common";
import { Command, InvalidArgumentError } from "commander";

import { AuditActor } from "../audit/audit";
import { formatUsd, parseUsd } from "../billing/money";
import { ClientLimits, ClientsService } from "../clients/clients.service";
import { Client, ClientStatus } from "../clients/entities/client.entity";

type WithApp = <T>(
  work: (app: INestApplicationContext) => Promise<T>,
) => Promise<T>;

/** Changes made here are audited under the operating-system user who ran the tool. */
const cliActor = (): AuditActor => ({
  userId: null,
  username: `cli:${userInfo().username}`,
});

/**
 * The word that clears a limit on the command line. The option parsers return it as it is, because commander
 * turns a null from a parser into an empty string; {@link limitsOf} maps it to null.
 */
const NO_LIMIT = "none";

/** Largest count limit: the columns are 32-bit integers. */
const MAX_COUNT_LIMIT = 2_147_483_647;

const countLimit = (value: string): number | typeof NO_LIMIT => {
  if (value === NO_LIMIT) {
    return NO_LIMIT;
  }
  const parsed = Number(value);
  if (
    !/^\d+$/.test(value) ||
    !Number.isSafeInteger(parsed) ||
    parsed > MAX_COUNT_LIMIT
  ) {
    throw new InvalidArgumentError(
      `'${value}' is not a whole number from 0 to ${MAX_COUNT_LIMIT}, or '${NO_LIMIT}'`,
    );
  }
  return parsed;
};

const budgetLimit = (value: string): bigint | typeof NO_LIMIT => {
  if (value === NO_LIMIT) {
    return NO_LIMIT;
  }
  try {
    return parseUsd(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `${(error as Error).message}, or '${NO_LIMIT}'`,
    );
  }
};

interface LimitOptions {
  requestsPerMinute?: number | typeof NO_LIMIT;
  tokensPerMinute?: number | typeof NO_LIMIT;
  maxConcurrent?: number | typeof NO_LIMIT;
  dailyBudget?: bigint | typeof NO_LIMIT;
  monthlyBudget?: bigint | typeof NO_LIMIT;
}

/** Adds the limit options, each taking a value or `none`, to a command. */
function withLimitOptions(command: Command): Command {
  return command
    .option(
      "--requests-per-minute <count>",
      `requests admitted per one-minute window, or ${NO_LIMIT}`,
      countLimit,
    )
    .option(
      "--tokens-per-minute <count>",
      `tokens per one-minute window (prompt bound plus max_tokens until a request finishes), or ${NO_LIMIT}`,
      countLimit,
    )
    .option(
      "--max-concurrent <count>",
      `requests in progress at one time, or ${NO_LIMIT}`,
      countLimit,
    )
    .option(
      "--daily-budget <usd>",
      `USD per calendar day in limits.timeZone, or ${NO_LIMIT}`,
      budgetLimit,
    )
    .option(
      "--monthly-budget <usd>",
      `USD per calendar month in limits.timeZone, or ${NO_LIMIT}`,
      budgetLimit,
    );
}

/** Returns the limits an invocation set; options left out are absent, so an update leaves them as they are. */
function limitsOf(options: LimitOptions): Partial<ClientLimits> {
  const given = <T>(value: T | typeof NO_LIMIT | undefined) =>
    value === NO_LIMIT ? null : value;
  const limits: Partial<ClientLimits> = {
    requestsPerMinute: given(options.requestsPerMinute),
    tokensPerMinute: given(options.tokensPerMinute),
    maxConcurrentRequests: given(options.maxConcurrent),
    dailyBudget: given(options.dailyBudget),
    monthlyBudget: given(options.monthlyBudget),
  };
  return Object.fromEntries(
    Object.entries(limits).filter(([, value]) => value !== undefined),
  );
}

/** Formats a client's limits on one line, `-` for no limit and budgets in USD. */
function describeLimits(row: Client): string {
  const count = (value: number | null) => (value === null ? "-" : value);
  const money = (value: bigint | null) =>
    value === null ? "-" : `${formatUsd(value)} USD`;
  return [
    `requests-per-minute=${count(row.requestsPerMinute)}`,
    `tokens-per-minute=${count(row.tokensPerMinute)}`,
    `max-concurrent=${count(row.maxConcurrentRequests)}`,
    `daily-budget=${money(row.dailyBudget)}`,
    `monthly-budget=${money(row.monthlyBudget)}`,
  ].join("\t");
}

async function findClient(
  app: INestApplicationContext,
  name: string,
): Promise<Client> {
  const client = await app.get(ClientsService).findByName(name);
  if (!client) {
    throw new Error(
      `No client named '${name}'. List them with: npm run cli -- client list`,
    );
  }
  return client;
}

/** `client create|list|limits|disable|enable`: applications that call the proxy, and their limits. */
export function registerClientCommands(
  program: Command,
  withApp: WithApp,
): void {
  const client = program
    .command("client")
    .description("Applications that call the proxy");

  withLimitOptions(
    client
      .command("create <name>")
      .description("Create a client; limits left out are off")
      .option(
        "--models <names>",
        "comma-separated public model names it may call (default: all)",
      ),
  ).action(
    async (name: string, options: LimitOptions & { models?: string }) => {
      const models = options.models
        ? options.models
            .split(",")
            .map((model) => model.trim())
            .filter(Boolean)
        : null;
      const created = await withApp((app) =>
        app
          .get(ClientsService)
          .create(name, models, cliActor(), limitsOf(options)),
      );
      console.log(`created client ${created.name} (id ${created.id})`);
    },
  );

  client
    .command("list")
    .description("List clients with their running totals and limits")
    .action(async () => {
      const rows = await withApp((app) => app.get(ClientsService).list());
      for (const row of rows) {
        console.log(
          `${row.id}\t${row.name}\t${row.status}\trequests=${row.totalRequests}\tprompt=${row.totalPromptTokens}\t` +
            `completion=${row.totalCompletionTokens}\tcost=${formatUsd(row.totalCost)} USD\t${describeLimits(row)}`,
        );
      }
    });

  withLimitOptions(
    client
      .command("limits <name>")
      .description(
        `Show a client's limits, or change those given; '${NO_LIMIT}' turns one off`,
      ),
  ).action(async (name: string, options: LimitOptions) => {
    const limits = limitsOf(options);
    const updated = await withApp(async (app) => {
      const found = await findClient(app, name);
      return Object.keys(limits).length === 0
        ? found
        : app.get(ClientsService).update(found.id, limits, cliActor());
    });
    console.log(`${updated.name}\t${describeLimits(updated)}`);
  });

  for (const [command, status] of [
    ["disable", ClientStatus.Disabled],
    ["enable", ClientStatus.Active],
  ] as const) {
    client
      .command(`${command} <name>`)
      .description(
        `${command === "disable" ? "Refuse" : "Accept"} every token of a client`,
      )
      .action(async (name: string) => {
        await withApp(async (app) =>
          app
            .get(ClientsService)
            .update((await findClient(app, name)).id, { status }, cliActor()),
        );
        console.log(`client ${name} is ${status}`);
      });
  }
}
