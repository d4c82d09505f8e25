import { createServer } from "node:net";

import { configSchema } from "../src/config/config.schema";
import { Browser } from "./support/browser";
import { OidcTestProvider } from "./support/oidc-test-provider";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * OpenID Connect sign-in against a real provider (panva's oidc-provider) on 127.0.0.1, with the code flow and
 * PKCE and roles mapped from the groups claim. The checks reject a wrong audience, an expired ID token, a user
 * without a mapped group and a tampered state.
 */

const CLIENT_ID = "llm-proxy";
const CLIENT_SECRET = "oidc-client-secret-Vq7Lm2Xw9Rt4";

/** Finds a port that is free now, so the proxy's redirect URL can be configured before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("OpenID Connect sign-in", () => {
  let provider: OidcTestProvider;
  let harness: ProxyHarness;
  let callbackUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    callbackUrl = `http://127.0.0.1:${port}/api/auth/oidc/callback`;
    provider = await OidcTestProvider.start({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: callbackUrl,
    });
    harness = await ProxyHarness.start({
      server: { port },
      auth: configSchema.shape.auth.parse({
        oidc: {
          enabled: true,
          issuer: provider.issuer,
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          redirectUrl: callbackUrl,
          scopes: ["openid", "profile", "email", "groups"],
          roles: {
            admin: ["platform-admins"],
            operator: ["platform-ops"],
            viewer: ["finance"],
          },
          clockToleranceSeconds: 5,
        },
      }),
    });
  });

  afterAll(async () => {
    await harness?.stop();
    await provider?.stop();
  });

  afterEach(async () => {
    await provider.setFault("none");
  });

  /** Starts a sign-in at the proxy and follows the provider's redirects up to the proxy's callback. */
  async function signInUpTo(browser: Browser): Promise<string> {
    return browser.followUntil(
      `${harness.baseUrl}/api/auth/oidc/login`,
      callbackUrl,
    );
  }

  async function sessionCount(): Promise<number> {
    const [row] = await harness.query<{ count: number }>(
      "select count(*) as count from admin_sessions",
    );
    return Number(row.count);
  }

  it("signs in with code and PKCE and maps the group to a role", async () => {
    await provider.setAccount({
      sub: "u-1001",
      preferred_username: "olivia",
      email: "olivia@example.com",
      groups: ["staff", "platform-ops"],
    });
    const browser = new Browser();

    const login = await browser.request(
      `${harness.baseUrl}/api/auth/oidc/login`,
    );
    const authorize = new URL(login.headers.get("location")!);
    expect(login.status).toBe(302);
    expect(authorize.origin).toBe(provider.issuer);
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(authorize.searchParams.get("nonce")).toBeTruthy();
    expect(authorize.searchParams.get("state")).toBeTruthy();

    const callback = await browser.followUntil(
      authorize.toString(),
      callbackUrl,
    );
    const response = await browser.request(callback);
    const body = (await response.json()) as {
      token: string;
      user: { username: string; role: string };
    };
    expect(response.status).toBe(200);
    expect(body.user).toMatchObject({ username: "olivia", role: "operator" });
    expect(browser.cookie("llmp_session")).toBe(body.token);

    const me = await fetch(`${harness.baseUrl}/api/auth/me`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(await me.json()).toMatchObject({
      username: "olivia",
      role: "operator",
    });

    const [user] = await harness.query<{
      sso_issuer: string;
      sso_subject: string;
      email: string;
    }>("select sso_issuer, sso_subject, email from users where username = ?", [
      "olivia",
    ]);
    expect(user).toEqual({
      sso_issuer: provider.issuer,
      sso_subject: "u-1001",
      email: "olivia@example.com",
    });
  });

  it("updates the role of a returning user from its groups", async () => {
    await provider.setAccount({
      sub: "u-1001",
      preferred_username: "olivia",
      groups: ["platform-admins"],
    });
    const browser = new Browser();

    const response = await browser.request(await signInUpTo(browser));

    expect(await response.json()).toMatchObject({
      user: { username: "olivia", role: "admin" },
    });
    const users = await harness.query(
      "select id from users where sso_subject = ?",
      ["u-1001"],
    );
    expect(users).toHaveLength(1);
  });

  it("refuses an ID token for another audience", async () => {
    await provider.setAccount({ sub: "u-2002", groups: ["platform-admins"] });
    await provider.setFault("wrong-audience");
    const browser = new Browser();
    const before = await sessionCount();

    const response = await browser.request(await signInUpTo(browser));
    const body = (await response.json()) as {
      error: { code: string; message: string };
    };

    expect(response.status).toBe(401);
    expect(body.error.code).toBe("oidc_sign_in_failed");
    expect(body.error.message).toMatch(/aud/);
    expect(await sessionCount()).toBe(before);
  });

  it("refuses an expired ID token", async () => {
    await provider.setAccount({ sub: "u-3003", groups: ["platform-admins"] });
    await provider.setFault("clock-behind");
    const browser = new Browser();
    const before = await sessionCount();

    const response = await browser.request(await signInUpTo(browser));
    const body = (await response.json()) as {
      error: { code: string; message: string };
    };

    expect(response.status).toBe(401);
    expect(body.error.code).toBe("oidc_sign_in_failed");
    expect(body.error.message).toMatch(/expired/);
    expect(await sessionCount()).toBe(before);
  });

  it("refuses a user whose groups map to no role", async () => {
    await provider.setAccount({
      sub: "u-4004",
      preferred_username: "carl",
      groups: ["contractors"],
    });
    const browser = new Browser();
    const before = await sessionCount();

    const response = await browser.request(await signInUpTo(browser));
    const body = (await response.json()) as {
      error: { code: string; message: string };
    };

    expect(response.status).toBe(403);
    expect(body.error.code).toBe("no_role_for_groups");
    expect(body.error.message).toMatch(/auth\.oidc\.roles/);
    expect(browser.cookie("llmp_session")).toBeUndefined();
    expect(await sessionCount()).toBe(before);
  });

  it("refuses a tampered state and does not let the flow be replayed", async () => {
    await provider.setAccount({ sub: "u-5005", groups: ["finance"] });
    const browser = new Browser();
    const callback = new URL(await signInUpTo(browser));
    const before = await sessionCount();

    const tampered = new URL(callback);
    tampered.searchParams.set(
      "state",
      `${callback.searchParams.get("state")}x`,
    );
    const refused = await browser.request(tampered.toString());
    const replayed = await browser.request(callback.toString());

    expect(refused.status).toBe(401);
    expect(
      ((await refused.json()) as { error: { message: string } }).error.message,
    ).toMatch(/state/);
    expect(replayed.status).toBe(401);
    expect(await sessionCount()).toBe(before);
  });

  it("refuses a callback from a browser that did not start the sign-in", async () => {
    await provider.setAccount({ sub: "u-6006", groups: ["finance"] });
    const callback = await signInUpTo(new Browser());

    const response = await new Browser().request(callback);

    expect(response.status).toBe(401);
    expect(
      ((await response.json()) as { error: { code: string } }).error.code,
    ).toBe("invalid_session");
  });
});
