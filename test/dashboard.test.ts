import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { UsersService } from "../src/auth/users.service";
import { UserRole } from "../src/auth/entities/user.entity";
import { formatUsd } from "../src/billing/money";
import { configSchema } from "../src/config/config.schema";
import { DASHBOARD_DIR_ENV } from "../src/dashboard/dashboard-assets";
import { BillingMode } from "../src/providers/entities/provider.entity";
import {
  DashboardBrowser,
  useBuiltDashboard,
} from "./support/dashboard-browser";
import { OidcTestProvider } from "./support/oidc-test-provider";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The operators' dashboard in Debian's Chromium, against a running proxy with a real database: serving and
 * headers, password and OpenID Connect sign-in, token issue and revocation, a top-up, a proxied request shown in
 * the overview and the request log, and a viewer who neither sees nor may use an operator's actions.
 */

jest.setTimeout(120_000);

const OPERATOR = { username: "olivia", password: "operator-pass-4Kq9z" };
const VIEWER = { username: "victor", password: "viewer-pass-7Hw2m" };

/** Shows a nano-dollar amount as the dashboard does: nine decimals, trailing zeros past the cents dropped. */
function shownUsd(nanos: bigint): string {
  const [whole, fraction] = formatUsd(nanos).split(".");
  return `${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")} USD`;
}

describe("dashboard", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let operator: DashboardBrowser;
  let providerId: number;
  let clientId: number;
  let clientName: string;
  let token: string;

  beforeAll(async () => {
    useBuiltDashboard();
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    ({ providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      name: "openai-main",
      billing: BillingMode.Prepaid,
      balance: "5.00",
    }));
    clientName = "billing-service";
    ({ clientId, token } = await proxy.seedClient({ name: clientName }));
    const users = proxy.app.get(UsersService);
    await users.create({ ...OPERATOR, role: UserRole.Operator });
    await users.create({ ...VIEWER, role: UserRole.Viewer });
    operator = await DashboardBrowser.open();
  });

  afterAll(async () => {
    await operator?.close();
    await proxy?.stop();
    await upstream?.stop();
  });

  it("serves index.html uncached under a strict CSP", async () => {
    const index = await fetch(`${proxy.baseUrl}/dashboard/clients/1`);
    const html = await index.text();
    const csp = index.headers.get("content-security-policy") ?? "";

    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(index.headers.get("cache-control")).toBe("no-store");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-eval");
    expect(html).toContain('<div id="root">');
    expect(html).toContain(
      '<meta name="llmp-sign-in-methods" content="password" />',
    );
  });

  it("caches hashed assets for a year", async () => {
    const html = await (await fetch(`${proxy.baseUrl}/dashboard/`)).text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${proxy.baseUrl}${script}`);
    const missing = await fetch(`${proxy.baseUrl}/dashboard/assets/none.js`);
    const bare = await fetch(`${proxy.baseUrl}/dashboard`, {
      redirect: "manual",
    });

    expect(script).toBeDefined();
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("max-age=31536000");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(missing.status).toBe(404);
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("/dashboard/");
  });

  it("signs in with a password", async () => {
    await operator.page.goto(`${proxy.baseUrl}/dashboard/`);
    await operator.page
      .getByLabel("Password", { exact: true })
      .fill("wrong password");
    await operator.page
      .getByLabel("Username", { exact: true })
      .fill(OPERATOR.username);
    await operator.page.getByRole("button", { name: "Sign in" }).click();
    const refusal = await operator.page.getByRole("alert").textContent();

    await operator.signIn(proxy.baseUrl, OPERATOR.username, OPERATOR.password);
    const user = await operator.page.getByTestId("current-user").textContent();

    expect(refusal).toContain("Wrong username or password");
    expect(user).toBe("olivia (operator)");
    expect(
      await operator.page
        .getByRole("link", { name: "Sign in with SSO" })
        .count(),
    ).toBe(0);
  });

  it("shows a proxied request in the overview and the log", async () => {
    const { response } = await proxy
      .openai(token)
      .chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Hello" }],
      })
      .withResponse();
    const requestId = response.headers.get("x-request-id")!;
    await proxy.settled();
    const [row] = await proxy.query<{ cost: string }>(
      "select cast(cost as text) as cost from llm_requests where request_id = ?",
      [requestId],
    );
    const cost = shownUsd(BigInt(row.cost));
    const page = operator.page;

    await page.goto(`${proxy.baseUrl}/dashboard/`);
    const today = page.getByTestId("today");
    await today.getByText(cost).waitFor();
    const topClients = page.getByRole("region", { name: "Top clients" });
    await topClients.getByRole("link", { name: clientName }).waitFor();
    await page.locator(".recharts-bar-rectangle").first().waitFor();
    const legend = await page.locator(".recharts-legend-wrapper").textContent();
    const errorRate = await page.getByTestId("error-rate").textContent();

    await page.getByRole("link", { name: "Requests" }).click();
    const logRow = page.getByTestId("request-row").first();
    await logRow.getByText(cost).waitFor();
    await logRow.getByRole("button", { name: /View/ }).click();
    const detail = page.getByRole("region", { name: `Request ${requestId}` });
    await detail.waitFor();

    expect(BigInt(row.cost)).toBeGreaterThan(0n);
    expect(legend).toContain("openai-main");
    expect(errorRate).toContain("0.00 %");
    expect(await logRow.textContent()).toContain("completed");
    expect(await detail.textContent()).toContain("reported by the provider");
  });

  it("shows days of prepaid credit left", async () => {
    const [provider] = await proxy.query<{ balance: string; reserved: string }>(
      "select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved from providers where id = ?",
      [providerId],
    );
    const [spend] = await proxy.query<{ cost: string }>(
      "select cast(sum(cost) as text) as cost from llm_requests where provider_id = ?",
      [providerId],
    );
    const available = BigInt(provider.balance) - BigInt(provider.reserved);
    const tenths = (available * 7n * 10n) / BigInt(spend.cost);
    const expected = `${tenths / 10n}.${tenths % 10n}`;
    const page = operator.page;

    await page.goto(`${proxy.baseUrl}/dashboard/`);
    const credit = page.getByRole("region", { name: "Prepaid credit" });
    const row = credit.getByRole("row", { name: /openai-main/ });
    await row.waitFor();
    const runway = await page.evaluate(async () => {
      const response = await fetch("/api/dashboard/credit-runway");
      return (await response.json()) as {
        windowDays: number;
        items: { providerName: string; available: string; daysLeft: string }[];
      };
    });

    expect(runway.windowDays).toBe(7);
    expect(runway.items).toHaveLength(1);
    expect(runway.items[0].providerName).toBe("openai-main");
    expect(runway.items[0].available).toBe(formatUsd(available));
    expect(runway.items[0].daysLeft).toBe(expected);
    expect(await row.textContent()).toContain(`${expected} days`);
    expect(await row.textContent()).toContain(shownUsd(available));
  });

  it("issues a token once and revokes it", async () => {
    const page = operator.page;
    await page.goto(`${proxy.baseUrl}/dashboard/clients/${clientId}`);
    await page.getByLabel("Token name").fill("ci-runner");
    await page.getByRole("button", { name: "Issue token" }).click();
    const issued = (await page.getByTestId("revealed-token").textContent())!;
    const models = await proxy.openai(issued).models.list();

    await page.getByRole("button", { name: "I have stored it" }).click();
    const row = page.getByRole("row", { name: /ci-runner/ });
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByText("revoked").waitFor();
    const refused = await proxy
      .openai(issued)
      .models.list()
      .then(
        () => null,
        (error: { status?: number }) => error.status,
      );

    expect(issued).toMatch(/^lpx_/);
    expect(models.data.map((model) => model.id)).toContain("gpt-4o-mini");
    expect(await page.getByTestId("revealed-token").count()).toBe(0);
    expect(await page.content()).not.toContain(issued);
    expect(refused).toBe(401);
  });

  it("tops up a provider with a note in the ledger", async () => {
    const [before] = await proxy.query<{ balance: string }>(
      "select cast(credit_balance as text) as balance from providers where id = ?",
      [providerId],
    );
    const page = operator.page;
    await page.goto(`${proxy.baseUrl}/dashboard/providers/${providerId}`);
    const form = page.getByRole("form", { name: "Top up" });
    await form.getByLabel(/Amount/).fill("2.50");
    await form.getByLabel(/Note/).fill("invoice 2026-12");
    await form.getByRole("button", { name: "Add credit" }).click();
    const entry = page.getByRole("row", { name: /invoice 2026-12/ });
    await entry.waitFor();
    const [after] = await proxy.query<{ balance: string }>(
      "select cast(credit_balance as text) as balance from providers where id = ?",
      [providerId],
    );

    expect(BigInt(after.balance) - BigInt(before.balance)).toBe(2_500_000_000n);
    expect(await entry.textContent()).toContain("user:olivia");
    expect(await entry.textContent()).toContain("2.50 USD");
    expect(await entry.textContent()).toContain(
      shownUsd(BigInt(after.balance)),
    );
  });

  it("runs a job on request", async () => {
    const page = operator.page;
    await page.getByRole("link", { name: "Operations" }).click();
    await page.getByRole("button", { name: "Run analyze now" }).click();
    const report = await page.getByTestId("run-report").textContent();

    expect(report).toMatch(/^analyze: run \d+ succeeded/);
  });

  it("fits a 400 pixel wide screen", async () => {
    const page = operator.page;
    await page.setViewportSize({ width: 400, height: 800 });
    for (const path of ["", "clients", `clients/${clientId}`, "requests"]) {
      await page.goto(`${proxy.baseUrl}/dashboard/${path}`);
      await page.getByRole("heading", { level: 1 }).waitFor();
      // A string, because the tests compile without the DOM library.
      const width = await page.evaluate("document.documentElement.scrollWidth");
      expect({ path, width }).toEqual({ path, width: 400 });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("hides operator actions from a viewer, and the API refuses them", async () => {
    const viewer = await DashboardBrowser.open();
    try {
      await viewer.signIn(proxy.baseUrl, VIEWER.username, VIEWER.password);
      const page = viewer.page;
      await page.goto(`${proxy.baseUrl}/dashboard/clients/${clientId}`);
      await page.getByRole("heading", { name: /Tokens/ }).waitFor();
      await page.getByRole("row", { name: /ci-runner/ }).waitFor();
      const clientButtons = await page.getByRole("button").allTextContents();

      await page.goto(`${proxy.baseUrl}/dashboard/providers/${providerId}`);
      await page.getByRole("heading", { name: "Ledger" }).waitFor();
      const topUpForms = await page
        .getByRole("form", { name: "Top up" })
        .count();

      await page.goto(`${proxy.baseUrl}/dashboard/operations`);
      await page
        .getByRole("cell", { name: "analyze", exact: true })
        .first()
        .waitFor();
      const jobButtons = await page.getByRole("button").allTextContents();

      const refused = await page.evaluate(async (id) => {
        const response = await fetch(`/api/clients/${id}/tokens`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "sneaky" }),
        });
        return {
          status: response.status,
          body: (await response.json()) as { error: { code: string } },
        };
      }, clientId);

      expect(await page.getByTestId("current-user").textContent()).toBe(
        "victor (viewer)",
      );
      expect(clientButtons).not.toContain("Issue token");
      expect(clientButtons).not.toContain("Revoke");
      expect(clientButtons).not.toContain("Disable client");
      expect(topUpForms).toBe(0);
      expect(jobButtons.filter((text) => text.startsWith("Run "))).toEqual([]);
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe("insufficient_role");
    } finally {
      await viewer.close();
    }
  });

  it("signs out", async () => {
    const page = operator.page;
    await page.goto(`${proxy.baseUrl}/dashboard/`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    const me = await page.evaluate(async () => {
      const response = await fetch("/api/auth/me");
      return response.status;
    });

    expect(me).toBe(401);
  });
});

/** Finds a port that is free now, so the redirect URL can be configured before the proxy starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("dashboard single sign-on", () => {
  const clientIdAtProvider = "llm-proxy-dashboard";
  const clientSecret = "dashboard-oidc-secret-Pw3Nx8Lq";
  let provider: OidcTestProvider;
  let proxy: ProxyHarness;
  let browser: DashboardBrowser;

  beforeAll(async () => {
    useBuiltDashboard();
    const port = await freePort();
    const redirectUrl = `http://127.0.0.1:${port}/dashboard/oidc/callback`;
    provider = await OidcTestProvider.start({
      clientId: clientIdAtProvider,
      clientSecret,
      redirectUri: redirectUrl,
    });
    proxy = await ProxyHarness.start({
      server: { port },
      auth: configSchema.shape.auth.parse({
        oidc: {
          enabled: true,
          issuer: provider.issuer,
          clientId: clientIdAtProvider,
          clientSecret,
          redirectUrl,
          scopes: ["openid", "profile", "email", "groups"],
          roles: { operator: ["platform-ops"], viewer: ["finance"] },
          clockToleranceSeconds: 5,
        },
      }),
    });
    browser = await DashboardBrowser.open();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    await provider?.stop();
  });

  it("signs in through the identity provider", async () => {
    await provider.setAccount({
      sub: "u-2001",
      preferred_username: "dana",
      email: "dana@example.com",
      groups: ["finance"],
    });
    const page = browser.page;

    await page.goto(`${proxy.baseUrl}/dashboard/`);
    await page.getByRole("link", { name: "Sign in with SSO" }).click();
    await page.getByTestId("current-user").waitFor();
    const [session] = await proxy.query<{ method: string }>(
      "select s.method as method from admin_sessions s join users u on u.id = s.user_id where u.username = ?",
      ["dana"],
    );

    expect(await page.getByTestId("current-user").textContent()).toBe(
      "dana (viewer)",
    );
    expect(new URL(page.url()).pathname).toMatch(/^\/dashboard\/?$/);
    expect(session.method).toBe("oidc");
  });
});

describe("dashboard without a build", () => {
  it("returns 503 with instructions", async () => {
    const empty = mkdtempSync(join(tmpdir(), "llm-proxy-no-dashboard-"));
    const previous = process.env[DASHBOARD_DIR_ENV];
    process.env[DASHBOARD_DIR_ENV] = empty;
    const proxy = await ProxyHarness.start();
    try {
      const page = await fetch(`${proxy.baseUrl}/dashboard/overview`);
      const asset = await fetch(`${proxy.baseUrl}/dashboard/assets/app.js`);
      const health = await fetch(`${proxy.baseUrl}/health/live`);

      expect(page.status).toBe(503);
      expect(await page.text()).toContain("npm run build");
      expect(asset.status).toBe(404);
      expect(health.status).toBe(200);
    } finally {
      await proxy.stop();
      if (previous === undefined) {
        delete process.env[DASHBOARD_DIR_ENV];
      } else {
        process.env[DASHBOARD_DIR_ENV] = previous;
      }
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
