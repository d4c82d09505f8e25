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
