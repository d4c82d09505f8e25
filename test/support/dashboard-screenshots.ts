/**
 * Takes the README's screenshots of the dashboard: builds it with Vite, starts the proxy on a fresh SQLite
 * database (PostgreSQL with TEST_DATABASE=postgres), seeds providers, clients and users, sends requests through the proxy
 * with the official `openai` client to the OpenAI stand-in, and saves one PNG per screen under `docs/screenshots/`.
 * Run it with `npm run screenshots`.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

import { UsersService } from "../../src/auth/users.service";
import { UserRole } from "../../src/auth/entities/user.entity";
import { BalanceTransactionKind } from "../../src/billing/entities/balance-transaction.entity";
import { parseUsd } from "../../src/billing/money";
import { JobRunner } from "../../src/maintenance/job-runner.service";
import { BillingMode } from "../../src/providers/entities/provider.entity";
import { DashboardBrowser, useBuiltDashboard } from "./dashboard-browser";
import { OpenAiUpstream } from "./openai-upstream";
import { ProxyHarness, TEST_PRICES } from "./proxy-harness";

const OUTPUT = resolve(__dirname, "..", "..", "docs", "screenshots");
const OPERATOR = { username: "alice", password: "screenshot-pass-2Rt8" };

const CLIENTS = [
  { name: "billing-service", requests: 9, words: 60 },
  { name: "support-bot", requests: 6, words: 160 },
  { name: "search-indexer", requests: 4, words: 300 },
];

async function seed(proxy: ProxyHarness, upstream: OpenAiUpstream) {
  const openai = await proxy.seedProvider({
    baseUrl: upstream.baseUrl,
    name: "openai",
    model: "gpt-4o-mini",
    billing: BillingMode.Prepaid,
    balance: "25.00",
  });
  await proxy.providers.addModel({
    providerId: openai.providerId,
    publicName: "gpt-4o",
    inputPrice: parseUsd("2.50"),
    outputPrice: parseUsd("10.00"),
    cacheReadPrice: parseUsd("1.25"),
    cacheWritePrice: parseUsd("3.125"),
    reasoningPrice: null,
    maxOutputTokens: 1000,
  });
  await proxy.seedProvider({
    baseUrl: upstream.baseUrl,
    name: "azure-eu",
    model: "gpt-4.1-mini",
    billing: BillingMode.Postpaid,
    prices: { ...TEST_PRICES, input: "0.40", output: "1.60" },
  });

  const models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"];
  const clients = [];
  for (const spec of CLIENTS) {
    const client = await proxy.seedClient({ name: spec.name });
    clients.push(client);
    for (let index = 0; index < spec.requests; index += 1) {
      await proxy
        .openai(client.token)
        .chat.completions.create({
          model: models[index % models.length],
          messages: [
            { role: "user", content: "word ".repeat(spec.words + index * 7) },
          ],
        })
        .catch(() => undefined);
    }
  }

  // One upstream failure, so the error rate and the log show a failed request.
  upstream.script({
    status: 500,
    error: { message: "The server had an error", type: "server_error" },
  });
  await proxy
    .openai(clients[1].token)
    .chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello" }],
    })
    .catch(() => undefined);
  await proxy.settled();

  await proxy.providers.changeBalance({
    providerId: openai.providerId,
    amount: parseUsd("10.00"),
    kind: BalanceTransactionKind.TopUp,
    actor: "user:alice",
    note: "invoice 2026-12",
  });
  await proxy.app
    .get(UsersService)
    .create({ ...OPERATOR, role: UserRole.Operator });
  for (const job of ["analyze", "reconcile"] as const) {
    await proxy.app.get(JobRunner).run(job, { tick: null });
  }

  return { providerId: openai.providerId, clientId: clients[0].clientId };
}

async function main(): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true });
  useBuiltDashboard();
  const upstream = await OpenAiUpstream.start();
  const proxy = await ProxyHarness.start();
  const browser = await DashboardBrowser.open();

  try {
    const { clientId } = await seed(proxy, upstream);
    const page = browser.page;
    const shoot = async (name: string, path: string | null) => {
      if (path !== null) {
        await page.goto(`${proxy.baseUrl}/dashboard/${path}`);
      }
      await page.waitForLoadState("networkidle");
      await page.screenshot({
        path: join(OUTPUT, `${name}.png`),
        fullPage: true,
      });
      console.log(`saved docs/screenshots/${name}.png`);
    };

    await page.goto(`${proxy.baseUrl}/dashboard/`);
    await page.getByLabel("Username", { exact: true }).waitFor();
    await shoot("sign-in", null);
    await browser.signIn(proxy.baseUrl, OPERATOR.username, OPERATOR.password);
    await shoot("overview", "");
    await shoot("clients", "clients");
    await shoot("client-detail", `clients/${clientId}`);
    await shoot("providers", "providers");
    await shoot("requests", "requests");
    await shoot("operations", "operations");
  } finally {
    await browser.close();
    await proxy.stop();
    await upstream.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
