import { AdminSessionService } from "../src/auth/admin-session.service";
import { UserRole } from "../src/auth/entities/user.entity";
import { UsersService } from "../src/auth/users.service";
import { callApi, RoleSessions, seedRoleSessions } from "./support/admin-api";
import { registeredRoutes } from "./support/app-routes";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

interface Fixtures {
  clientId: number;
  tokenId: number;
  rotatingTokenId: number;
  providerId: number;
  modelId: number;
  userId: number;
  upstreamUrl: string;
}

interface Call {
  path: string;
  body?: unknown;
}

interface Entry {
  /** The minimum role allowed, or `public` for routes that need no session. */
  minimum: UserRole | "public";
  /** A valid call, so an allowed role gets the route's success status. */
  call: (fixtures: Fixtures) => Call;
  success: number;
  /** Signs in afresh for each call, for routes that end the session they come with. */
  freshSession?: boolean;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;
const today = new Date().toISOString().slice(0, 10);

/** What each role may do: every route under /api must be listed here. */
const MATRIX: Record<string, Entry> = {
  "GET /api/dashboard/top": {
    minimum: UserRole.Viewer,
    call: () => {
      const today = new Date().toISOString().slice(0, 10);
      return { path: `/api/dashboard/top?from=${today}&to=${today}&by=client` };
    },
    success: 200,
  },
  "GET /api/dashboard/credit-runway": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/dashboard/credit-runway" }),
    success: 200,
  },
  "GET /api/price-catalog": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/price-catalog" }),
    success: 200,
  },
  "POST /api/clients": {
    minimum: UserRole.Operator,
    call: () => ({ path: "/api/clients", body: { name: unique("client") } }),
    success: 201,
  },
  "GET /api/clients": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/clients" }),
    success: 200,
  },
  "GET /api/clients/{clientId}": {
    minimum: UserRole.Viewer,
    call: (f) => ({ path: `/api/clients/${f.clientId}` }),
    success: 200,
  },
  "PATCH /api/clients/{clientId}": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/clients/${f.clientId}`,
      body: { allowedModels: null },
    }),
    success: 200,
  },
  "POST /api/clients/{clientId}/disable": {
    minimum: UserRole.Operator,
    call: (f) => ({ path: `/api/clients/${f.clientId}/disable` }),
    success: 200,
  },
  "POST /api/clients/{clientId}/tokens": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/clients/${f.clientId}/tokens`,
      body: { name: "matrix" },
    }),
    success: 201,
  },
  "GET /api/clients/{clientId}/tokens": {
    minimum: UserRole.Viewer,
    call: (f) => ({ path: `/api/clients/${f.clientId}/tokens` }),
    success: 200,
  },
  "POST /api/clients/{clientId}/tokens/{tokenId}/revoke": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/clients/${f.clientId}/tokens/${f.tokenId}/revoke`,
    }),
    success: 200,
  },
  "POST /api/clients/{clientId}/tokens/{tokenId}/rotate": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/clients/${f.clientId}/tokens/${f.rotatingTokenId}/rotate`,
      body: { overlapSeconds: 60 },
    }),
    success: 201,
  },
  "POST /api/providers": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: "/api/providers",
      body: {
        name: unique("provider"),
        baseUrl: f.upstreamUrl,
        apiKey: "sk-matrix-key",
        billingMode: "prepaid",
      },
    }),
    success: 201,
  },
  "GET /api/providers": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/providers" }),
    success: 200,
  },
  "GET /api/providers/{providerId}": {
    minimum: UserRole.Viewer,
    call: (f) => ({ path: `/api/providers/${f.providerId}` }),
    success: 200,
  },
  "PATCH /api/providers/{providerId}": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/providers/${f.providerId}`,
      body: { supportsStreamOptions: true },
    }),
    success: 200,
  },
  "PUT /api/providers/{providerId}/api-key": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/providers/${f.providerId}/api-key`,
      body: { apiKey: "sk-matrix-rotated" },
    }),
    success: 200,
  },
  "POST /api/providers/{providerId}/top-ups": {
    minimum: UserRole.Operator,
    call: (f) => ({
      path: `/api/providers/${f.providerId}/top-ups`,
      body: { amount: "1.00" },
    }),
    success: 201,
  },
  "POST /api/providers/{providerId}/adjustments": {
    minimum: UserRole.Admin,
    call: (f) => ({
      path: `/api/providers/${f.providerId}/adjustments`,
      body: { amount: "0.50", note: "matrix" },
    }),
    success: 201,
  },
  "POST /api/models": {
    minimum: UserRole.Admin,
    call: (f) => ({
      path: "/api/models",
      body: {
        providerId: f.providerId,
        publicName: unique("model"),
        inputPrice: "1.00",
        outputPrice: "2.00",
      },
    }),
    success: 201,
  },
  "GET /api/models": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/models" }),
    success: 200,
  },
  "GET /api/models/{modelId}": {
    minimum: UserRole.Viewer,
    call: (f) => ({ path: `/api/models/${f.modelId}` }),
    success: 200,
  },
  "PATCH /api/models/{modelId}": {
    minimum: UserRole.Admin,
    call: (f) => ({
      path: `/api/models/${f.modelId}`,
      body: { inputPrice: "1.25" },
    }),
    success: 200,
  },
  "GET /api/ledger": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/ledger" }),
    success: 200,
  },
  "GET /api/usage/daily": {
    minimum: UserRole.Viewer,
    call: () => ({ path: `/api/usage/daily?from=${today}&to=${today}` }),
    success: 200,
  },
  "GET /api/usage/today": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/usage/today" }),
    success: 200,
  },
  "GET /api/usage/errors": {
    minimum: UserRole.Viewer,
    call: () => ({
      path: `/api/usage/errors?from=${today}T00:00:00Z&to=${new Date(Date.now() + 60_000).toISOString()}`,
    }),
    success: 200,
  },
  "GET /api/requests": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/requests" }),
    success: 200,
  },
  "GET /api/jobs": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/jobs" }),
    success: 200,
  },
  "GET /api/jobs/runs": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/jobs/runs" }),
    success: 200,
  },
  "POST /api/jobs/{job}/run": {
    minimum: UserRole.Operator,
    call: () => ({ path: "/api/jobs/analyze/run", body: {} }),
    success: 200,
  },
  "GET /api/database/health": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/database/health" }),
    success: 200,
  },
  "GET /api/audit": {
    minimum: UserRole.Admin,
    call: () => ({ path: "/api/audit" }),
    success: 200,
  },
  "GET /api/users": {
    minimum: UserRole.Admin,
    call: () => ({ path: "/api/users" }),
    success: 200,
  },
  "POST /api/users": {
    minimum: UserRole.Admin,
    call: () => ({
      path: "/api/users",
      body: { username: unique("user"), role: "viewer" },
    }),
    success: 201,
  },
  "PATCH /api/users/{userId}": {
    minimum: UserRole.Admin,
    call: (f) => ({ path: `/api/users/${f.userId}`, body: { role: "viewer" } }),
    success: 200,
  },
  "DELETE /api/users/{userId}/sessions": {
    minimum: UserRole.Admin,
    call: (f) => ({ path: `/api/users/${f.userId}/sessions` }),
    success: 200,
  },
  "GET /api/auth/me": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/auth/me" }),
    success: 200,
  },
  "POST /api/auth/logout": {
    minimum: UserRole.Viewer,
    call: () => ({ path: "/api/auth/logout" }),
    success: 204,
    freshSession: true,
  },
  "POST /api/auth/login": {
    minimum: "public",
    call: () => ({
      path: "/api/auth/login",
      body: { username: "nobody", password: "not the password" },
    }),
    success: 401,
  },
  "GET /api/auth/oidc/login": {
    minimum: "public",
    call: () => ({ path: "/api/auth/oidc/login" }),
    success: 404,
  },
  "GET /api/auth/oidc/callback": {
    minimum: "public",
    call: () => ({ path: "/api/auth/oidc/callback" }),
    success: 404,
  },
};

const RANK: Record<UserRole, number> = {
  [UserRole.Viewer]: 1,
  [UserRole.Operator]: 2,
  [UserRole.Admin]: 3,
};

/**
 * The role matrix: for every route under /api, each role and an anonymous caller get exactly the expected
 * status. The route list comes from the running app, so a new route without an entry here fails.
 */
describe("admin role matrix", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let sessions: RoleSessions;
  let fixtures: Fixtures;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    sessions = await seedRoleSessions(proxy, "matrix");

    const seeded = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: "prepaid" as never,
      balance: "10.00",
    });
    const client = await proxy.seedClient();
    const rotating = await proxy.clients.issueToken(
      client.clientId,
      "rotating",
    );
    const target = await proxy.app
      .get(UsersService)
      .create({ username: "matrix-target", role: UserRole.Viewer });
    fixtures = {
      clientId: client.clientId,
      tokenId: client.tokenId,
      rotatingTokenId: rotating.id,
      providerId: seeded.providerId,
      modelId: seeded.modelConfigId,
      userId: target.id,
      upstreamUrl: upstream.baseUrl,
    };
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it("lists every /api route", () => {
    const routes = registeredRoutes(proxy.app)
      .filter((route) => route.path.startsWith("/api/"))
      .map((route) => `${route.method} ${route.path}`)
      .sort();

    expect(routes).toEqual(Object.keys(MATRIX).sort());
  });

  async function sessionFor(role: UserRole, entry: Entry): Promise<string> {
    if (!entry.freshSession) {
      return sessions[role];
    }
    const user = await proxy.app
      .get(UsersService)
      .create({ username: unique(`fresh-${role}`), role });
    return (await proxy.app.get(AdminSessionService).issue(user.id)).token;
  }

  it.each(Object.entries(MATRIX))("%s", async (route, entry) => {
    const method = route.split(" ")[0];
    const outcomes: Record<string, number> = {};
    const expected: Record<string, number> = {};

    for (const role of Object.values(UserRole)) {
      const { path, body } = entry.call(fixtures);
      const session = await sessionFor(role, entry);
      const response = await callApi(
        proxy.baseUrl,
        session,
        method,
        path,
        body,
      );
      outcomes[role] = response.status;
      expected[role] =
        entry.minimum === "public" || RANK[role] >= RANK[entry.minimum]
          ? entry.success
          : 403;
      if (response.status === 403) {
        expect(response.body.error.code).toBe("insufficient_role");
      }
    }

    const { path, body } = entry.call(fixtures);
    const anonymous = await callApi(proxy.baseUrl, null, method, path, body);
    outcomes.none = anonymous.status;
    expected.none = entry.minimum === "public" ? entry.success : 401;
    if (entry.minimum !== "public") {
      expect(anonymous.body.error.code).toBe("missing_session");
    }

    expect(outcomes).toEqual(expected);
  });

  it("refuses an unknown or revoked session with 401", async () => {
    const unknown = await callApi(
      proxy.baseUrl,
      "lps_not-a-session",
      "GET",
      "/api/clients",
    );
    expect(unknown.status).toBe(401);

    const user = await proxy.app
      .get(UsersService)
      .create({ username: "revoked-user", role: UserRole.Admin });
    const issued = await proxy.app.get(AdminSessionService).issue(user.id);
    await proxy.app.get(AdminSessionService).revoke(issued.sessionId);
    const revoked = await callApi(
      proxy.baseUrl,
      issued.token,
      "GET",
      "/api/clients",
    );
    expect(revoked.status).toBe(401);
  });
});
