import { OpenAiUpstream } from "./support/openai-upstream";
import { apiAs, RoleSessions, seedRoleSessions } from "./support/admin-api";
import { ProxyHarness } from "./support/proxy-harness";

/**
 * The admin REST API end to end over HTTP: clients and tokens, providers and models, prepaid credit and the
 * ledger, reports, maintenance, and validation errors that name the field and the rule.
 */
describe("admin API", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let sessions: RoleSessions;
  let admin: ReturnType<typeof apiAs>;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start();
    sessions = await seedRoleSessions(proxy);
    admin = apiAs(proxy.baseUrl, sessions.admin);
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  async function createProvider(name: string, billingMode = "prepaid") {
    const created = await admin("POST", "/api/providers", {
      name,
      baseUrl: upstream.baseUrl,
      apiKey: `sk-test-${name}-key1`,
      billingMode,
    });
    expect(created.status).toBe(201);
    return created.body as { id: number };
  }

  it("creates, updates, lists and disables a client", async () => {
    const created = await admin("POST", "/api/clients", {
      name: "reports-service",
      allowedModels: ["gpt-4o-mini"],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "reports-service",
      status: "active",
      allowedModels: ["gpt-4o-mini"],
      totals: { requests: 0, cost: "0.000000000" },
    });
    const id = created.body.id;

    const renamed = await admin("PATCH", `/api/clients/${id}`, {
      name: "reports",
      allowedModels: null,
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({
      name: "reports",
      allowedModels: null,
    });

    const disabled = await admin("POST", `/api/clients/${id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe("disabled");

    const fetched = await admin("GET", `/api/clients/${id}`);
    expect(fetched.body).toMatchObject({
      id,
      name: "reports",
      status: "disabled",
    });
    const listed = await admin("GET", "/api/clients");
    expect(
      listed.body.items.map((client: { id: number }) => client.id),
    ).toContain(id);
  });

  it("answers 404 for a missing client and 409 for a taken name", async () => {
    const missing = await admin("GET", "/api/clients/99999");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: "not_found",
      type: "not_found_error",
    });

    await admin("POST", "/api/clients", { name: "taken-name" });
    const taken = await admin("POST", "/api/clients", { name: "taken-name" });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe("name_taken");
  });

  it("names the field and the rule of an invalid value", async () => {
    const empty = await admin("POST", "/api/clients", { name: "" });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({
      code: "invalid_value",
      param: "name",
    });
    expect(empty.body.error.message).toMatch(
      /name: .*>=1 characters \(too_small\)/,
    );

    const unknown = await admin("POST", "/api/clients", {
      name: "x",
      colour: "red",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/colour.*unrecognized_keys/);

    const badId = await admin("GET", "/api/clients/abc");
    expect(badId.status).toBe(400);
    expect(badId.body.error.param).toBe("clientId");

    const provider = await createProvider("validation-provider");
    const tooPrecise = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "m",
      inputPrice: "0.0000000001",
      outputPrice: "1",
    });
    expect(tooPrecise.status).toBe(400);
    expect(tooPrecise.body.error.param).toBe("inputPrice");
    expect(tooPrecise.body.error.message).toMatch(/at most 9 decimals/);

    const badLimit = await admin("GET", "/api/requests?limit=1000");
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.message).toMatch(/limit: .*<=200/);
  });

  it("issues, lists, rotates and revokes tokens", async () => {
    const client = (
      await admin("POST", "/api/clients", { name: "token-owner" })
    ).body;

    const issued = await admin("POST", `/api/clients/${client.id}/tokens`, {
      name: "production",
    });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^lpx_/);
    expect(issued.body.token.startsWith(issued.body.displayPrefix)).toBe(true);

    const listed = await admin("GET", `/api/clients/${client.id}/tokens`);
    expect(listed.body.items).toEqual([
      expect.objectContaining({
        id: issued.body.id,
        name: "production",
        displayPrefix: issued.body.displayPrefix,
        state: "active",
        expiresAt: null,
        lastUsedAt: null,
      }),
    ]);
    expect(listed.text).not.toContain(issued.body.token);
    expect(Object.keys(listed.body.items[0])).not.toContain("tokenHash");

    const before = Date.now();
    const rotated = await admin(
      "POST",
      `/api/clients/${client.id}/tokens/${issued.body.id}/rotate`,
      { overlapSeconds: 3600 },
    );
    expect(rotated.status).toBe(201);
    expect(rotated.body.issued.token).toMatch(/^lpx_/);
    expect(rotated.body.issued.id).not.toBe(issued.body.id);
    const oldExpiry = Date.parse(rotated.body.previous.expiresAt);
    expect(oldExpiry).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(oldExpiry).toBeLessThanOrEqual(Date.now() + 3_600_000);

    // Both work during the overlap.
    for (const token of [issued.body.token, rotated.body.issued.token]) {
      const models = await fetch(`${proxy.baseUrl}/v1/models`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(models.status).toBe(200);
    }

    const revoked = await admin(
      "POST",
      `/api/clients/${client.id}/tokens/${issued.body.id}/revoke`,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.state).toBe("revoked");
    const refused = await fetch(`${proxy.baseUrl}/v1/models`, {
      headers: { authorization: `Bearer ${issued.body.token}` },
    });
    expect(refused.status).toBe(401);

    const rotateRevoked = await admin(
      "POST",
      `/api/clients/${client.id}/tokens/${issued.body.id}/rotate`,
      {},
    );
    expect(rotateRevoked.status).toBe(409);
    expect(rotateRevoked.body.error.code).toBe("token_revoked");

    const otherClient = (
      await admin("POST", "/api/clients", { name: "not-the-owner" })
    ).body;
    const wrongOwner = await admin(
      "POST",
      `/api/clients/${otherClient.id}/tokens/${rotated.body.issued.id}/revoke`,
    );
    expect(wrongOwner.status).toBe(404);
  });

  it("round-trips money exactly", async () => {
    const provider = await createProvider("money-provider");
    const prices = {
      inputPrice: "0.000000001",
      outputPrice: "99999.999999999",
      cacheReadPrice: "12345.678901234",
      cacheWritePrice: "2.5",
      reasoningPrice: "0",
    };
    const created = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "exact-model",
      ...prices,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      inputPrice: "0.000000001",
      outputPrice: "99999.999999999",
      cacheReadPrice: "12345.678901234",
      cacheWritePrice: "2.500000000",
      cacheWrite1hPrice: "0.000000000",
      reasoningPrice: "0.000000000",
    });

    const [stored] = await proxy.query<Record<string, string>>(
      `select cast(input_price as text) as input, cast(output_price as text) as output,
         cast(cache_read_price as text) as cache_read, cast(cache_write_price as text) as cache_write
       from model_configs where id = ?`,
      [created.body.id],
    );
    expect(stored).toEqual({
      input: "1",
      output: "99999999999999",
      cache_read: "12345678901234",
      cache_write: "2500000000",
    });

    const fetched = await admin("GET", `/api/models/${created.body.id}`);
    expect(fetched.body.outputPrice).toBe("99999.999999999");

    const aboveCap = await admin("PATCH", `/api/models/${created.body.id}`, {
      outputPrice: "100000.000000001",
    });
    expect(aboveCap.status).toBe(400);
    expect(aboveCap.body.error.message).toMatch(/outputPrice/);

    const tooLarge = await admin("PATCH", `/api/models/${created.body.id}`, {
      inputPrice: "9223372036.854775808",
    });
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body.error.param).toBe("inputPrice");

    const updated = await admin("PATCH", `/api/models/${created.body.id}`, {
      inputPrice: "0.15",
      reasoningPrice: null,
      maxOutputTokens: 16384,
    });
    expect(updated.body).toMatchObject({
      inputPrice: "0.150000000",
      reasoningPrice: null,
      maxOutputTokens: 16384,
    });

    const topUp = await admin("POST", `/api/providers/${provider.id}/top-ups`, {
      amount: "25.000000001",
      note: "invoice 2026-12",
    });
    expect(topUp.status).toBe(201);
    expect(topUp.body).toMatchObject({
      kind: "topup",
      amount: "25.000000001",
      balanceAfter: "25.000000001",
      actor: "user:user-admin",
      note: "invoice 2026-12",
    });
    const adjusted = await admin(
      "POST",
      `/api/providers/${provider.id}/adjustments`,
      {
        amount: "-0.000000001",
        note: "rounding correction",
      },
    );
    expect(adjusted.body).toMatchObject({
      kind: "adjustment",
      amount: "-0.000000001",
      balanceAfter: "25.000000000",
    });
    const [balance] = await proxy.query<{ balance: string }>(
      "select cast(credit_balance as text) as balance from providers where id = ?",
      [provider.id],
    );
    expect(balance.balance).toBe("25000000000");
    expect(
      (await admin("GET", `/api/providers/${provider.id}`)).body.creditBalance,
    ).toBe("25.000000000");

    // The largest amount a signed 64-bit column holds goes in and comes out unchanged.
    const full = await createProvider("full-range-provider");
    const largest = await admin("POST", `/api/providers/${full.id}/top-ups`, {
      amount: "9223372036.854775807",
    });
    expect(largest.body.balanceAfter).toBe("9223372036.854775807");
    const [stored64] = await proxy.query<{ balance: string }>(
      "select cast(credit_balance as text) as balance from providers where id = ?",
      [full.id],
    );
    expect(stored64.balance).toBe("9223372036854775807");
  });

  it("refuses balance changes that break the ledger's rules", async () => {
    const provider = await createProvider("rules-provider");
    const noNote = await admin(
      "POST",
      `/api/providers/${provider.id}/adjustments`,
      {
        amount: "1.00",
      },
    );
    expect(noNote.status).toBe(400);
    expect(noNote.body.error.param).toBe("note");

    const zero = await admin("POST", `/api/providers/${provider.id}/top-ups`, {
      amount: "0",
    });
    expect(zero.status).toBe(400);

    const overdraw = await admin(
      "POST",
      `/api/providers/${provider.id}/adjustments`,
      {
        amount: "-1.00",
        note: "too much",
      },
    );
    expect(overdraw.status).toBe(409);
    expect(overdraw.body.error.code).toBe("balance_change_rejected");

    const postpaid = await createProvider("postpaid-provider", "postpaid");
    const refused = await admin(
      "POST",
      `/api/providers/${postpaid.id}/top-ups`,
      {
        amount: "1.00",
      },
    );
    expect(refused.status).toBe(409);

    const missing = await admin("POST", "/api/providers/99999/top-ups", {
      amount: "1.00",
    });
    expect(missing.status).toBe(404);
  });

  it("pages through the ledger with a cursor", async () => {
    const provider = await createProvider("ledger-provider");
    for (const amount of ["1.00", "2.00", "3.00", "4.00", "5.00"]) {
      await admin("POST", `/api/providers/${provider.id}/top-ups`, { amount });
    }

    const amounts: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `providerId=${provider.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page = await admin("GET", `/api/ledger?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      amounts.push(
        ...page.body.items.map((entry: { amount: string }) => entry.amount),
      );
      cursor = page.body.nextCursor;
    } while (cursor);

    expect(amounts).toEqual([
      "5.000000000",
      "4.000000000",
      "3.000000000",
      "2.000000000",
      "1.000000000",
    ]);

    const bad = await admin("GET", "/api/ledger?cursor=not-a-cursor");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_cursor");
  });

  it("updates a provider and rotates its key without returning it", async () => {
    const provider = await createProvider("keyed-provider");
    const fetched = await admin("GET", `/api/providers/${provider.id}`);
    expect(fetched.body.keyLast4).toBe("key1");

    const rotated = await admin(
      "PUT",
      `/api/providers/${provider.id}/api-key`,
      {
        apiKey: "sk-test-replacement-key2",
      },
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.keyLast4).toBe("key2");
    expect(rotated.text).not.toContain("sk-test-replacement");

    const updated = await admin("PATCH", `/api/providers/${provider.id}`, {
      billingMode: "postpaid",
      supportsStreamOptions: false,
      baseUrl: `${upstream.baseUrl}/`,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      billingMode: "postpaid",
      supportsStreamOptions: false,
      baseUrl: upstream.baseUrl,
    });

    const badUrl = await admin("PATCH", `/api/providers/${provider.id}`, {
      baseUrl: "ftp://example.invalid",
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error.message).toMatch(/http or https/);
  });

  it("creates a model without prices from the catalog", async () => {
    const provider = await createProvider("catalog-provider", "postpaid");

    const created = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "mini",
      upstreamName: "gpt-4o-mini-2024-07-18",
      outputPrice: "0.50",
    });

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      upstreamName: "gpt-4o-mini-2024-07-18",
      inputPrice: "0.150000000",
      outputPrice: "0.500000000",
      cacheReadPrice: "0.075000000",
      cacheWritePrice: "0.000000000",
      cacheWrite1hPrice: "0.000000000",
      reasoningPrice: null,
      contextWindow: 128000,
      maxOutputTokens: 16384,
      priceSource: {
        model: "gpt-4o-mini",
        source: "https://developers.openai.com/api/docs/pricing",
        pricesCheckedOn: "2026-12-04",
        fields: [
          "inputPrice",
          "cacheReadPrice",
          "cacheWritePrice",
          "cacheWrite1hPrice",
          "contextWindow",
          "maxOutputTokens",
        ],
      },
    });
    const [stored] = await proxy.query<{ input: string; cache_read: string }>(
      `select cast(input_price as text) as input, cast(cache_read_price as text) as cache_read
       from model_configs where id = ?`,
      [created.body.id],
    );
    expect(stored).toEqual({ input: "150000000", cache_read: "75000000" });

    const fetched = await admin("GET", `/api/models/${created.body.id}`);
    expect(fetched.body.inputPrice).toBe("0.150000000");
    expect(fetched.body).not.toHaveProperty("priceSource");

    const audit = await admin("GET", "/api/audit?limit=200");
    const entry = audit.body.items.find(
      (item: { action: string; entityId: string }) =>
        item.action === "model.create" &&
        String(item.entityId) === String(created.body.id),
    );
    expect(entry.after.priceSource.fields).toContain("inputPrice");

    const explicit = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "mini-explicit",
      upstreamName: "gpt-4o-mini",
      inputPrice: "1",
      outputPrice: "2",
      cacheReadPrice: "0.5",
      cacheWritePrice: "0",
      cacheWrite1hPrice: "0",
      reasoningPrice: null,
      contextWindow: null,
      maxOutputTokens: 1000,
    });
    expect(explicit.status).toBe(201);
    expect(explicit.body.priceSource).toBeNull();
    expect(explicit.body.inputPrice).toBe("1.000000000");
  });

  it("names the missing price when the catalog has no entry", async () => {
    const provider = await createProvider("no-catalog-provider", "postpaid");

    const missing = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "in-house-model",
      inputPrice: "1.00",
    });

    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe("invalid_value");
    expect(missing.body.error.message).toMatch(
      /outputPrice is required: the price catalog has no openai model named 'in-house-model'/,
    );
    const none = await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "in-house-model",
    });
    expect(none.status).toBe(400);
    expect(none.body.error.message).toMatch(/inputPrice and outputPrice/);
    const rows = await proxy.query(
      "select id from model_configs where public_name = 'in-house-model'",
    );
    expect(rows).toHaveLength(0);
  });

  it("lists the price catalog", async () => {
    const viewer = apiAs(proxy.baseUrl, sessions.viewer);

    const all = await viewer("GET", "/api/price-catalog");
    const anthropic = await viewer(
      "GET",
      "/api/price-catalog?provider=anthropic",
    );
    const bad = await viewer("GET", "/api/price-catalog?provider=azure");

    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThan(10);
    expect(anthropic.body.items).toContainEqual(
      expect.objectContaining({
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        snapshots: ["claude-sonnet-4-5-20250929"],
        inputPrice: "3.000000000",
        cacheWritePrice: "3.750000000",
        cacheWrite1hPrice: "6.000000000",
        cacheReadPrice: "0.300000000",
        outputPrice: "15.000000000",
        pricesCheckedOn: "2026-12-04",
      }),
    );
    expect(
      anthropic.body.items.every(
        (item: { provider: string }) => item.provider === "anthropic",
      ),
    ).toBe(true);
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("provider");
  });

  it("creates providers of each kind with their settings", async () => {
    const azure = await admin("POST", "/api/providers", {
      name: "azure-eu",
      kind: "azure",
      baseUrl: "https://contoso-eu.openai.azure.com",
      apiVersion: "2024-10-21",
      apiKey: "azure-test-key-eu01",
      billingMode: "postpaid",
      connectTimeoutMs: 5000,
      firstTokenTimeoutMs: 30000,
      totalTimeoutMs: 120000,
    });
    expect(azure.status).toBe(201);
    expect(azure.body).toMatchObject({
      kind: "azure",
      baseUrl: "https://contoso-eu.openai.azure.com",
      apiVersion: "2024-10-21",
      connectTimeoutMs: 5000,
      firstTokenTimeoutMs: 30000,
      totalTimeoutMs: 120000,
    });

    const anthropic = await admin("POST", "/api/providers", {
      name: "anthropic-main",
      kind: "anthropic",
      apiKey: "sk-ant-test-key-main",
      billingMode: "postpaid",
    });
    expect(anthropic.body).toMatchObject({
      kind: "anthropic",
      baseUrl: "https://api.anthropic.com/v1",
      apiVersion: null,
      connectTimeoutMs: null,
      firstTokenTimeoutMs: null,
      totalTimeoutMs: null,
    });

    const noVersion = await admin("POST", "/api/providers", {
      name: "azure-unversioned",
      kind: "azure",
      baseUrl: "https://contoso.openai.azure.com",
      apiKey: "azure-test-key-none",
      billingMode: "postpaid",
    });
    expect(noVersion.status).toBe(400);
    expect(noVersion.body.error.message).toMatch(/needs apiVersion/);

    const tooLong = await admin("POST", "/api/providers", {
      name: "slow",
      apiKey: "sk-test-slow-key1",
      billingMode: "postpaid",
      totalTimeoutMs: 3_600_001,
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.param).toBe("totalTimeoutMs");

    const updated = await admin("PATCH", `/api/providers/${azure.body.id}`, {
      apiVersion: "2025-04-01-preview",
      totalTimeoutMs: null,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      apiVersion: "2025-04-01-preview",
      totalTimeoutMs: null,
      firstTokenTimeoutMs: 30000,
    });

    const audit = await admin("GET", "/api/audit?limit=200");
    const entry = audit.body.items.find(
      (item: { action: string; entityId: string }) =>
        item.action === "provider.update" &&
        String(item.entityId) === String(azure.body.id),
    );
    expect(entry.before).toMatchObject({
      apiVersion: "2024-10-21",
      totalTimeoutMs: 120000,
    });
    expect(entry.after).toMatchObject({
      apiVersion: "2025-04-01-preview",
      totalTimeoutMs: null,
    });
  });

  it("shows the routes of one public name on several providers", async () => {
    const primary = await createProvider("route-primary", "postpaid");
    const backup = await createProvider("route-backup", "postpaid");
    const prices = { inputPrice: "1.00", outputPrice: "2.00" };

    const first = await admin("POST", "/api/models", {
      providerId: primary.id,
      publicName: "routed-model",
      ...prices,
    });
    const second = await admin("POST", "/api/models", {
      providerId: backup.id,
      publicName: "routed-model",
      priority: 1,
      weight: 3,
      ...prices,
    });
    const duplicate = await admin("POST", "/api/models", {
      providerId: backup.id,
      publicName: "routed-model",
      ...prices,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(duplicate.status).toBe(409);

    const routes = await admin("GET", "/api/models?publicName=routed-model");
    expect(routes.body.items).toEqual([
      expect.objectContaining({
        providerId: primary.id,
        providerName: "route-primary",
        providerKind: "openai",
        priority: 0,
        weight: 1,
      }),
      expect.objectContaining({
        providerId: backup.id,
        providerName: "route-backup",
        providerKind: "openai",
        priority: 1,
        weight: 3,
      }),
    ]);

    const zeroWeight = await admin("PATCH", `/api/models/${second.body.id}`, {
      weight: 0,
    });
    expect(zeroWeight.status).toBe(400);
    expect(zeroWeight.body.error.param).toBe("weight");
    const promoted = await admin("PATCH", `/api/models/${second.body.id}`, {
      priority: 0,
    });
    expect(promoted.body).toMatchObject({
      priority: 0,
      weight: 3,
      providerName: "route-backup",
    });
  });

  it("reports usage, errors and the request log", async () => {
    const provider = await createProvider("usage-provider", "postpaid");
    await admin("POST", "/api/models", {
      providerId: provider.id,
      publicName: "usage-model",
      inputPrice: "2.50",
      outputPrice: "10.00",
    });
    const client = (
      await admin("POST", "/api/clients", { name: "usage-client" })
    ).body;
    const token = (await admin("POST", `/api/clients/${client.id}/tokens`, {}))
      .body.token;
    const openai = proxy.openai(token);

    upstream.script({ usage: { prompt_tokens: 1000, completion_tokens: 100 } });
    await openai.chat.completions.create({
      model: "usage-model",
      messages: [{ role: "user", content: "hi" }],
    });
    upstream.script({ usage: { prompt_tokens: 2000, completion_tokens: 50 } });
    await openai.chat.completions.create({
      model: "usage-model",
      messages: [{ role: "user", content: "again" }],
    });
    upstream.script({ status: 500 });
    await expect(
      openai.chat.completions.create({
        model: "usage-model",
        messages: [{ role: "user", content: "fail" }],
      }),
    ).rejects.toThrow();
    await proxy.settled();

    const today = new Date().toISOString().slice(0, 10);
    const daily = await admin(
      "GET",
      `/api/usage/daily?from=${today}&to=${today}&clientId=${client.id}&groupBy=client,provider,model`,
    );
    expect(daily.status).toBe(200);
    // 3000 × 2.50 + 150 × 10.00 = 9000 USD per million → 0.009 USD.
    expect(daily.body.items).toEqual([
      expect.objectContaining({
        day: today,
        clientId: client.id,
        clientName: "usage-client",
        providerId: provider.id,
        providerName: "usage-provider",
        model: "usage-model",
        requests: 3,
        failedRequests: 1,
        promptTokens: 3000,
        completionTokens: 150,
        cost: "0.009000000",
      }),
    ]);

    const totals = await admin("GET", `/api/usage/today?clientId=${client.id}`);
    expect(totals.body).toMatchObject({
      day: today,
      requests: 3,
      cost: "0.009000000",
    });

    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const errors = await admin(
      "GET",
      `/api/usage/errors?from=${from}&to=${to}&clientId=${client.id}`,
    );
    expect(errors.status).toBe(200);
    expect(errors.body.total).toBe(3);
    expect(errors.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          status: "completed",
          requests: 2,
          share: 2 / 3,
        }),
        expect.objectContaining({
          status: "failed",
          upstreamStatus: 500,
          requests: 1,
        }),
      ]),
    );

    const tooLong = await admin(
      "GET",
      `/api/usage/errors?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`,
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.message).toMatch(/at most 31 days/);

    const failed = await admin(
      "GET",
      `/api/requests?clientId=${client.id}&status=failed`,
    );
    expect(failed.body.items).toHaveLength(1);
    expect(failed.body.items[0]).toMatchObject({
      status: "failed",
      upstreamStatus: 500,
    });

    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const page: {
        body: { items: { id: number }[]; nextCursor: string | null };
      } = await admin(
        "GET",
        `/api/requests?clientId=${client.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      pages.push(page.body.items.map((row) => row.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages.map((page) => page.length)).toEqual([2, 1]);
    const ids = pages.flat();
    expect(new Set(ids).size).toBe(3);

    const byModel = await admin(
      "GET",
      `/api/requests?model=usage-model&providerId=${provider.id}&from=${from}&to=${to}`,
    );
    expect(byModel.body.items).toHaveLength(3);
    expect(byModel.body.items[0].cost).toMatch(/^\d+\.\d{9}$/);
  });

  it("runs a job now and lists its runs and the database health", async () => {
    const run = await admin("POST", "/api/jobs/analyze/run", {});
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      status: "finished",
      job: "analyze",
      outcome: "succeeded",
    });

    const runs = await admin("GET", "/api/jobs/runs?job=analyze");
    expect(runs.body.items[0]).toMatchObject({
      id: run.body.runId,
      outcome: "succeeded",
    });

    const jobs = await admin("GET", "/api/jobs");
    expect(jobs.body.items.map((job: { job: string }) => job.job)).toEqual([
      "retention",
      "analyze",
      "reconcile",
    ]);

    const health = await admin("GET", "/api/database/health");
    expect(health.status).toBe(200);
    expect(
      health.body.tables.map((table: { table: string }) => table.table),
    ).toContain("llm_requests");
    expect(health.body.lastAnalyzeJobAt).not.toBeNull();

    const unknown = await admin("POST", "/api/jobs/vacuum-everything/run", {});
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.param).toBe("job");
  });
});
