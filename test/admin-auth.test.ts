import { AdminSessionService } from "../src/auth/admin-session.service";
import { UserRole } from "../src/auth/entities/user.entity";
import { UsersService } from "../src/auth/users.service";
import { configSchema } from "../src/config/config.schema";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * Password sign-in, sessions (expiry, sign-out, revocation, disabled users), the role guard, the users API and
 * the trusted reverse-proxy headers, over HTTP on 127.0.0.1.
 */

const PASSWORD = "correct horse battery staple";

interface ErrorBody {
  error: { message: string; type: string; code: string; param: string | null };
}

interface SessionBody {
  token: string;
  expiresAt: string;
  user: { id: number; username: string; role: string };
}

async function call(
  harness: ProxyHarness,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) {
    headers.authorization = `Bearer ${options.token}`;
  }
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${harness.baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as unknown) : null,
    headers: response.headers,
  };
}

async function login(
  harness: ProxyHarness,
  username: string,
  password = PASSWORD,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  return call(harness, "POST", "/api/auth/login", {
    body: { username, password },
  });
}

async function signIn(
  harness: ProxyHarness,
  username: string,
): Promise<string> {
  const response = await login(harness, username);
  expect(response.status).toBe(200);
  return (response.body as SessionBody).token;
}

describe("password sign-in and sessions", () => {
  let harness: ProxyHarness;

  beforeAll(async () => {
    harness = await ProxyHarness.start({
      auth: configSchema.shape.auth.parse({ maxFailedSignIns: 50 }),
    });
    const users = harness.app.get(UsersService);
    for (const [username, role] of [
      ["alice", UserRole.Admin],
      ["oscar", UserRole.Operator],
      ["vera", UserRole.Viewer],
      ["dora", UserRole.Viewer],
    ] as const) {
      await users.create({ username, password: PASSWORD, role });
    }
    await users.update((await users.getByUsername("dora")).id, {
      disabled: true,
    });
    await users.create({ username: "sso-only", role: UserRole.Admin });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("signs in with the right password", async () => {
    const response = await login(harness, "alice");
    const body = response.body as SessionBody;

    expect(response.status).toBe(200);
    expect(body.user).toMatchObject({ username: "alice", role: "admin" });
    expect(body.token).toMatch(/^lps_[\w-]{43}$/);
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const cookie = response.headers.get("set-cookie")!;
    expect(cookie).toContain(`llmp_session=${body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toMatch(/Secure/i);

    const [stored] = await harness.query<{ token_hash: string }>(
      "select token_hash from admin_sessions s join users u on u.id = s.user_id where u.username = ?",
      ["alice"],
    );
    expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.token_hash).not.toContain(body.token);
  });

  it("answers me by bearer token and by cookie", async () => {
    const token = await signIn(harness, "oscar");

    const byBearer = await call(harness, "GET", "/api/auth/me", { token });
    const byCookie = await call(harness, "GET", "/api/auth/me", {
      headers: { cookie: `llmp_session=${token}` },
    });

    expect(byBearer.status).toBe(200);
    expect(byBearer.body).toMatchObject({
      username: "oscar",
      role: "operator",
    });
    expect(byCookie.body).toEqual(byBearer.body);
  });

  it.each([
    ["a wrong password", "alice", "not the password at all"],
    ["an unknown user", "mallory", PASSWORD],
    ["a disabled user", "dora", PASSWORD],
    ["an account without a password", "sso-only", PASSWORD],
  ])("refuses %s with the same answer", async (_case, username, password) => {
    const response = await login(harness, username, password);
    const body = response.body as ErrorBody;

    expect(response.status).toBe(401);
    expect(body.error).toEqual({
      message: "Wrong username or password",
      type: "authentication_error",
      param: null,
      code: "invalid_credentials",
    });
    expect(response.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a body without the credentials", async () => {
    const response = await call(harness, "POST", "/api/auth/login", {
      body: { username: "alice" },
    });

    expect(response.status).toBe(400);
    expect((response.body as ErrorBody).error.code).toBe("invalid_body");
  });

  it("signs out", async () => {
    const token = await signIn(harness, "vera");

    const logout = await call(harness, "POST", "/api/auth/logout", { token });
    const after = await call(harness, "GET", "/api/auth/me", { token });

    expect(logout.status).toBe(204);
    expect(logout.headers.get("set-cookie")).toMatch(
      /llmp_session=;.*Max-Age=0/,
    );
    expect(after.status).toBe(401);
    expect((after.body as ErrorBody).error.code).toBe("invalid_session");
  });

  it("refuses an expired session", async () => {
    const response = await login(harness, "vera");
    const token = (response.body as SessionBody).token;
    expect((await call(harness, "GET", "/api/auth/me", { token })).status).toBe(
      200,
    );

    await harness.query(
      "update admin_sessions set expires_at = created_at where user_id = ? and revoked_at is null",
      [(response.body as SessionBody).user.id],
    );
    const after = await call(harness, "GET", "/api/auth/me", { token });

    expect(after.status).toBe(401);
    expect((after.body as ErrorBody).error.code).toBe("invalid_session");
  });

  it("revokes a session by id and all of a user's sessions", async () => {
    const sessions = harness.app.get(AdminSessionService);
    const oscar = await harness.app.get(UsersService).getByUsername("oscar");
    const one = await sessions.issue(oscar.id);
    const two = await signIn(harness, "oscar");
    const three = await signIn(harness, "oscar");
    const admin = await signIn(harness, "alice");

    expect(await sessions.revoke(one.sessionId)).toBe(true);
    expect(
      (await call(harness, "GET", "/api/auth/me", { token: one.token })).status,
    ).toBe(401);
    expect(
      (await call(harness, "GET", "/api/auth/me", { token: two })).status,
    ).toBe(200);

    const revoked = await call(
      harness,
      "DELETE",
      `/api/users/${oscar.id}/sessions`,
      {
        token: admin,
      },
    );
    expect(revoked.status).toBe(200);
    expect(
      (revoked.body as { revoked: number }).revoked,
    ).toBeGreaterThanOrEqual(2);
    for (const token of [two, three]) {
      expect(
        (await call(harness, "GET", "/api/auth/me", { token })).status,
      ).toBe(401);
    }
    expect(
      (await call(harness, "GET", "/api/auth/me", { token: admin })).status,
    ).toBe(200);
  });

  it("ends the sessions of a user when it is disabled", async () => {
    const admin = await signIn(harness, "alice");
    const created = await call(harness, "POST", "/api/users", {
      token: admin,
      body: { username: "temp", password: PASSWORD, role: "viewer" },
    });
    const userId = (created.body as { id: number }).id;
    const token = await signIn(harness, "temp");

    const disabled = await call(harness, "PATCH", `/api/users/${userId}`, {
      token: admin,
      body: { disabled: true },
    });

    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ username: "temp", disabled: true });
    expect((await call(harness, "GET", "/api/auth/me", { token })).status).toBe(
      401,
    );
    expect((await login(harness, "temp")).status).toBe(401);
  });

  it("tells a missing session from an invalid one", async () => {
    const missing = await call(harness, "GET", "/api/auth/me");
    const garbage = await call(harness, "GET", "/api/auth/me", {
      token: "lps_nonsense",
    });
    const unknown = await call(harness, "GET", "/api/auth/me", {
      token: `lps_${"A".repeat(43)}`,
    });

    expect(missing.status).toBe(401);
    expect((missing.body as ErrorBody).error.code).toBe("missing_session");
    expect((garbage.body as ErrorBody).error.code).toBe("invalid_session");
    expect((unknown.body as ErrorBody).error.code).toBe("invalid_session");
  });

  it("lets only administrators manage users", async () => {
    for (const username of ["oscar", "vera"]) {
      const token = await signIn(harness, username);

      const listed = await call(harness, "GET", "/api/users", { token });

      expect(listed.status).toBe(403);
      expect((listed.body as ErrorBody).error).toMatchObject({
        type: "permission_error",
        code: "insufficient_role",
      });
    }
  });

  it("creates, lists and changes users and audits each change", async () => {
    const admin = await signIn(harness, "alice");

    const created = await call(harness, "POST", "/api/users", {
      token: admin,
      body: {
        username: "bob",
        password: PASSWORD,
        role: "viewer",
        email: "bob@example.com",
      },
    });
    const duplicate = await call(harness, "POST", "/api/users", {
      token: admin,
      body: { username: "bob", password: PASSWORD, role: "viewer" },
    });
    const weak = await call(harness, "POST", "/api/users", {
      token: admin,
      body: { username: "eve", password: "short", role: "viewer" },
    });
    const bobId = (created.body as { id: number }).id;
    const promoted = await call(harness, "PATCH", `/api/users/${bobId}`, {
      token: admin,
      body: { role: "operator" },
    });
    const listed = await call(harness, "GET", "/api/users", { token: admin });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      username: "bob",
      role: "viewer",
      email: "bob@example.com",
      signIn: "password",
      disabled: false,
    });
    expect(JSON.stringify(created.body)).not.toMatch(/hash|argon/i);
    expect(duplicate.status).toBe(409);
    expect(weak.status).toBe(400);
    expect((weak.body as ErrorBody).error.param).toBe("password");
    expect(promoted.body).toMatchObject({ role: "operator" });
    expect(
      (listed.body as { items: { username: string }[] }).items.map(
        (u) => u.username,
      ),
    ).toContain("bob");

    const audit = await harness.query<{
      action: string;
      actor: string;
      after_value: string;
    }>(
      "select action, actor, after_value from audit_entries where entity_type = 'user' and entity_id = ? order by id",
      [String(bobId)],
    );
    expect(audit.map((row) => [row.action, row.actor])).toEqual([
      ["user.create", "alice"],
      ["user.update", "alice"],
    ]);
    expect(
      audit.map((row) => JSON.stringify(row.after_value)).join(),
    ).not.toContain(PASSWORD);
  });
});

describe("failed sign-ins and the last administrator", () => {
  let harness: ProxyHarness;

  beforeAll(async () => {
    harness = await ProxyHarness.start({
      auth: configSchema.shape.auth.parse({ maxFailedSignIns: 3 }),
    });
    await harness.app
      .get(UsersService)
      .create({ username: "alice", password: PASSWORD, role: UserRole.Admin });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("keeps the last administrator", async () => {
    const token = await signIn(harness, "alice");
    const alice = (await call(harness, "GET", "/api/auth/me", { token }))
      .body as { id: number };

    const demoted = await call(harness, "PATCH", `/api/users/${alice.id}`, {
      token,
      body: { role: "viewer" },
    });
    const disabled = await call(harness, "PATCH", `/api/users/${alice.id}`, {
      token,
      body: { disabled: true },
    });

    expect(demoted.status).toBe(409);
    expect((demoted.body as ErrorBody).error.code).toBe("last_administrator");
    expect(disabled.status).toBe(409);
    expect(
      (await call(harness, "GET", "/api/auth/me", { token })).body,
    ).toMatchObject({
      role: "admin",
    });
  });

  it("locks a username out after repeated failures, even for the right password", async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(
        (await login(harness, "alice", "wrong password guess")).status,
      ).toBe(401);
    }

    const locked = await login(harness, "alice");

    expect(locked.status).toBe(429);
    expect((locked.body as ErrorBody).error.code).toBe(
      "too_many_sign_in_attempts",
    );
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    const rows = await harness.query<{ subject: string }>(
      "select subject from admin_sign_in_failures where locked_until is not null order by subject",
    );
    expect(rows.map((row) => row.subject)).toEqual([
      "address:127.0.0.1",
      "user:alice",
    ]);
  });
});

describe("trusted reverse-proxy headers", () => {
  const identity = {
    "x-forwarded-user": "hanna",
    "x-forwarded-email": "hanna@example.com",
    "x-forwarded-groups": "staff, platform-ops",
  };

  async function startWithProxies(proxies: string[]): Promise<ProxyHarness> {
    return ProxyHarness.start({
      auth: configSchema.shape.auth.parse({
        trustedHeader: {
          enabled: true,
          proxies,
          roles: { admin: ["platform-admins"], operator: ["platform-ops"] },
        },
      }),
    });
  }

  it("accepts the headers from a trusted proxy address", async () => {
    const harness = await startWithProxies(["10.0.0.0/8", "127.0.0.1"]);
    try {
      const me = await call(harness, "GET", "/api/auth/me", {
        headers: identity,
      });
      const unmapped = await call(harness, "GET", "/api/auth/me", {
        headers: {
          ...identity,
          "x-forwarded-user": "ivan",
          "x-forwarded-groups": "staff",
        },
      });

      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({
        username: "hanna",
        role: "operator",
        sessionId: "trusted-header",
      });
      expect(unmapped.status).toBe(403);
      expect((unmapped.body as ErrorBody).error.code).toBe(
        "no_role_for_groups",
      );
      const users = await harness.query<{
        username: string;
        sso_issuer: string;
        email: string;
      }>("select username, sso_issuer, email from users order by id");
      expect(users).toEqual([
        {
          username: "hanna",
          sso_issuer: "trusted-header",
          email: "hanna@example.com",
        },
      ]);
    } finally {
      await harness.stop();
    }
  });

  it("ignores the headers from any other address", async () => {
    const harness = await startWithProxies(["10.0.0.0/8", "::1"]);
    try {
      const me = await call(harness, "GET", "/api/auth/me", {
        headers: identity,
      });

      expect(me.status).toBe(401);
      expect((me.body as ErrorBody).error.code).toBe("missing_session");
      expect(await harness.query("select id from users")).toEqual([]);
    } finally {
      await harness.stop();
    }
  });
});
