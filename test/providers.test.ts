import { parseUsd } from "../src/billing/money";
import {
  MAX_PRICE_PER_MILLION,
  ProviderInputRejected,
} from "../src/providers/providers.service";
import {
  BillingMode,
  ProviderKind,
} from "../src/providers/entities/provider.entity";
import { ProxyHarness } from "./support/proxy-harness";

/** Provider settings that would leak or never work are rejected before anything is stored. */
describe("providers", () => {
  let proxy: ProxyHarness;

  beforeAll(async () => {
    proxy = await ProxyHarness.start();
  });

  afterAll(async () => {
    await proxy.stop();
  });

  function create(name: string, baseUrl: string) {
    return proxy.providers.create({
      name,
      kind: ProviderKind.OpenAi,
      baseUrl,
      apiKey: "sk-test-key-123456",
      billingMode: BillingMode.Postpaid,
    });
  }

  it.each([
    [
      "credentials in the URL",
      "http://user:secret@127.0.0.1:9/v1",
      /credentials/,
    ],
    ["a non-http scheme", "ftp://127.0.0.1/v1", /http or https/],
    ["a query string", "https://127.0.0.1/v1?key=x", /query string/],
    ["text that is no URL", "not a url", /not a URL/],
  ])("rejects a base URL with %s", async (_name, baseUrl, message) => {
    await expect(create("bad-url", baseUrl)).rejects.toThrow(
      ProviderInputRejected,
    );
    await expect(create("bad-url", baseUrl)).rejects.toThrow(message);

    const rows = await proxy.query(
      "select * from providers where name = 'bad-url'",
    );
    expect(rows).toHaveLength(0);
  });

  it("rejects a taken name", async () => {
    await create("taken", "https://127.0.0.1/v1/");

    await expect(create("taken", "https://127.0.0.1/v1")).rejects.toThrow(
      /already exists/,
    );
  });

  it("stores the base URL without a trailing slash", async () => {
    const provider = await create("trailing", "https://127.0.0.1:8443/v1/");

    expect(provider.baseUrl).toBe("https://127.0.0.1:8443/v1");
  });

  it.each([
    ["an empty name", "   "],
    ["a tab", "a\tb"],
    ["a newline", "a\nb"],
  ])("rejects a name with %s", async (_name, name) => {
    await expect(create(name, "https://127.0.0.1/v1")).rejects.toThrow(/name/);
  });
  it("rejects a price above the largest a request's cost can carry", async () => {
    const provider = await create("priced", "https://127.0.0.1/v1");
    const add = (inputPrice: bigint) =>
      proxy.providers.addModel({
        providerId: provider.id,
        publicName: `model-${inputPrice}`,
        inputPrice,
        outputPrice: 1n,
      });

    await expect(add(MAX_PRICE_PER_MILLION + 1n)).rejects.toThrow(
      /inputPrice must be between 0 and 100000/,
    );
    await expect(add(MAX_PRICE_PER_MILLION)).resolves.toBeDefined();
    const rows = await proxy.query(
      "select public_name from model_configs where provider_id = ?",
      [provider.id],
    );
    expect(rows).toEqual([{ public_name: `model-${MAX_PRICE_PER_MILLION}` }]);
  });
  it.each([
    [ProviderKind.OpenAi, "https://api.openai.com/v1"],
    [ProviderKind.Anthropic, "https://api.anthropic.com/v1"],
    [
      ProviderKind.Gemini,
      "https://generativelanguage.googleapis.com/v1beta/openai",
    ],
  ])("defaults the %s base URL", async (kind, baseUrl) => {
    const provider = await proxy.providers.create({
      name: `default-url-${kind}`,
      kind,
      apiKey: "sk-test-key-123456",
      billingMode: BillingMode.Postpaid,
    });

    expect(provider.baseUrl).toBe(baseUrl);
    expect(provider.apiVersion).toBeNull();
  });

  function createAzure(
    name: string,
    settings: { baseUrl?: string; apiVersion?: string | null },
  ) {
    return proxy.providers.create({
      name,
      kind: ProviderKind.Azure,
      apiKey: "azure-test-key-123456",
      billingMode: BillingMode.Postpaid,
      ...settings,
    });
  }

  it("stores an Azure resource and its API version", async () => {
    const provider = await createAzure("azure-eu", {
      baseUrl: "https://contoso-eu.openai.azure.com/",
      apiVersion: "2024-10-21",
    });

    const [row] = await proxy.query<{ base_url: string; api_version: string }>(
      "select base_url, api_version from providers where id = ?",
      [provider.id],
    );
    expect(row).toEqual({
      base_url: "https://contoso-eu.openai.azure.com",
      api_version: "2024-10-21",
    });
  });

  it.each([
    ["no base URL", { apiVersion: "2024-10-21" }, /needs a base URL/],
    [
      "no API version",
      { baseUrl: "https://contoso.openai.azure.com" },
      /needs apiVersion/,
    ],
    [
      "a malformed API version",
      { baseUrl: "https://contoso.openai.azure.com", apiVersion: "latest" },
      /dated version/,
    ],
    [
      "a host outside Azure OpenAI",
      { baseUrl: "https://contoso.example.com", apiVersion: "2024-10-21" },
      /resource root/,
    ],
    [
      "an API version on the v1 API",
      {
        baseUrl: "https://contoso.openai.azure.com/openai/v1",
        apiVersion: "2024-10-21",
      },
      /takes no apiVersion/,
    ],
    [
      "a path after the resource",
      {
        baseUrl: "https://contoso.openai.azure.com/deployments",
        apiVersion: "2024-10-21",
      },
      /resource root/,
    ],
    [
      "plain http",
      { baseUrl: "http://contoso.openai.azure.com", apiVersion: "2024-10-21" },
      /resource root/,
    ],
  ])("rejects an Azure provider with %s", async (_name, settings, message) => {
    await expect(createAzure("azure-bad", settings)).rejects.toThrow(
      ProviderInputRejected,
    );
    await expect(createAzure("azure-bad", settings)).rejects.toThrow(message);

    const rows = await proxy.query(
      "select * from providers where name = 'azure-bad'",
    );
    expect(rows).toHaveLength(0);
  });

  it("accepts Azure's v1 API without an API version", async () => {
    const provider = await createAzure("azure-v1", {
      baseUrl: "https://contoso-v1.openai.azure.com/openai/v1",
    });

    expect(provider.apiVersion).toBeNull();
    expect(provider.baseUrl).toBe(
      "https://contoso-v1.openai.azure.com/openai/v1",
    );
  });

  it("accepts a loopback Azure stand-in", async () => {
    const provider = await createAzure("azure-local", {
      baseUrl: "http://127.0.0.1:9/azure",
      apiVersion: "2025-04-01-preview",
    });

    expect(provider.baseUrl).toBe("http://127.0.0.1:9/azure");
  });

  it("rejects an API version on other kinds", async () => {
    await expect(
      proxy.providers.create({
        name: "openai-versioned",
        kind: ProviderKind.OpenAi,
        apiVersion: "2024-10-21",
        apiKey: "sk-test-key-123456",
        billingMode: BillingMode.Postpaid,
      }),
    ).rejects.toThrow(/Azure providers only/);
  });

  it.each([
    ["zero", { connectTimeoutMs: 0 }, /connectTimeoutMs/],
    ["over an hour", { totalTimeoutMs: 3_600_001 }, /totalTimeoutMs/],
    ["a fraction", { firstTokenTimeoutMs: 1.5 }, /firstTokenTimeoutMs/],
    [
      "a first-token timeout above the total",
      { firstTokenTimeoutMs: 20_000, totalTimeoutMs: 10_000 },
      /must not exceed totalTimeoutMs/,
    ],
  ])("rejects a timeout of %s", async (_name, timeouts, message) => {
    await expect(
      proxy.providers.create({
        name: "bad-timeout",
        kind: ProviderKind.OpenAi,
        apiKey: "sk-test-key-123456",
        billingMode: BillingMode.Postpaid,
        ...timeouts,
      }),
    ).rejects.toThrow(message);
  });

  it("updates timeouts and checks them against the stored ones", async () => {
    const provider = await proxy.providers.create({
      name: "timed",
      kind: ProviderKind.OpenAi,
      apiKey: "sk-test-key-123456",
      billingMode: BillingMode.Postpaid,
      totalTimeoutMs: 60_000,
    });
    const actor = { userId: null, username: "test" };

    const updated = await proxy.providers.update(
      provider.id,
      { connectTimeoutMs: 5_000, firstTokenTimeoutMs: 30_000 },
      actor,
    );
    expect(updated).toMatchObject({
      connectTimeoutMs: 5_000,
      firstTokenTimeoutMs: 30_000,
      totalTimeoutMs: 60_000,
    });

    await expect(
      proxy.providers.update(provider.id, { totalTimeoutMs: 20_000 }, actor),
    ).rejects.toThrow(/firstTokenTimeoutMs \(30000\) must not exceed/);

    const reset = await proxy.providers.update(
      provider.id,
      { firstTokenTimeoutMs: null, totalTimeoutMs: null },
      actor,
    );
    expect(reset.firstTokenTimeoutMs).toBeNull();
    expect(reset.totalTimeoutMs).toBeNull();
  });

  it("keeps an Azure provider's API version on update", async () => {
    const provider = await createAzure("azure-kept", {
      baseUrl: "https://contoso-kept.openai.azure.com",
      apiVersion: "2024-10-21",
    });
    const actor = { userId: null, username: "test" };

    await expect(
      proxy.providers.update(provider.id, { apiVersion: null }, actor),
    ).rejects.toThrow(/needs apiVersion/);
    const updated = await proxy.providers.update(
      provider.id,
      { apiVersion: "2025-04-01-preview" },
      actor,
    );
    expect(updated.apiVersion).toBe("2025-04-01-preview");
  });

  it("fills prices left out from the catalog", async () => {
    const provider = await proxy.providers.create({
      name: "catalog-anthropic",
      kind: ProviderKind.Anthropic,
      apiKey: "sk-ant-test-key-123456",
      billingMode: BillingMode.Postpaid,
    });

    const created = await proxy.providers.addModelWithSource({
      providerId: provider.id,
      publicName: "sonnet",
      upstreamName: "claude-sonnet-4-5-20250929",
      outputPrice: parseUsd("14.00"),
    });

    expect(created.model).toMatchObject({
      inputPrice: parseUsd("3"),
      outputPrice: parseUsd("14.00"),
      cacheReadPrice: parseUsd("0.30"),
      cacheWritePrice: parseUsd("3.75"),
      cacheWrite1hPrice: parseUsd("6"),
      reasoningPrice: null,
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      priority: 0,
      weight: 1,
    });
    expect(created.priceSource).toMatchObject({
      model: "claude-sonnet-4-5",
      pricesCheckedOn: "2026-12-04",
    });
    expect(created.priceSource?.fields).not.toContain("outputPrice");
  });

  it("names the missing price without a catalog entry", async () => {
    const provider = await create("uncatalogued", "https://127.0.0.1/v1");

    await expect(
      proxy.providers.addModel({
        providerId: provider.id,
        publicName: "in-house-model",
        inputPrice: 1n,
      }),
    ).rejects.toThrow(
      /outputPrice is required: the price catalog has no openai model named 'in-house-model'/,
    );
  });

  it.each([
    ["a negative priority", { priority: -1 }, /priority/],
    ["a zero weight", { weight: 0 }, /weight/],
    ["a fractional weight", { weight: 1.5 }, /weight/],
  ])("rejects a model with %s", async (_name, routing, message) => {
    const provider = await create(
      `routing-${Object.keys(routing)[0]}-${String(Object.values(routing)[0])}`,
      "https://127.0.0.1/v1",
    );

    await expect(
      proxy.providers.addModel({
        providerId: provider.id,
        publicName: "routed",
        inputPrice: 1n,
        outputPrice: 1n,
        ...routing,
      }),
    ).rejects.toThrow(message);
  });

  it.each([
    ["a line break", "sk-test-key\n123456"],
    ["a space", "sk-test key-123456"],
    ["nothing", ""],
  ])("rejects an API key with %s", async (_name, apiKey) => {
    await expect(
      proxy.providers.create({
        name: "bad-key",
        kind: ProviderKind.OpenAi,
        baseUrl: "https://127.0.0.1/v1",
        apiKey,
        billingMode: BillingMode.Postpaid,
      }),
    ).rejects.toThrow(/API key/);

    const rows = await proxy.query(
      "select * from providers where name = 'bad-key'",
    );
    expect(rows).toHaveLength(0);
  });
});
