import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { loadConfig } from "./load-config";

let folder: string;

beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "llm-proxy-config-"));
});

afterEach(() => {
  rmSync(folder, { recursive: true, force: true });
});

/** Writes `default.yaml` into the temporary config folder. */
function writeDefaults(yaml: string): void {
  writeFileSync(join(folder, "default.yaml"), yaml);
}

/**
 * Returns the message of the error that loading throws, failing the test when
 * it does not throw.
 */
function loadErrorOf(env: Record<string, string> = {}): string {
  try {
    loadConfig(env, folder);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("Expected loadConfig to throw");
}

describe("loadConfig defaults", () => {
  it("applies defaults without files", () => {
    const config = loadConfig({}, folder);

    expect(config.server.host).toBe("127.0.0.1");
    expect(config.server.port).toBe(8080);
    // 32 MiB = 32 × 1,024 × 1,024 = 33,554,432 bytes.
    expect(config.server.bodyLimitBytes).toBe(33_554_432);
    expect(config.server.trustProxy).toBe(false);
    expect(config.database.url).toBeNull();
    expect(config.database.sqlitePath).toBe("data/llm-proxy.sqlite");
    expect(config.database.synchronous).toBe("FULL");
    expect(config.secrets.file).toBe("data/secrets.json");
    expect(config.billing.imageTokenAllowance).toBe(8_000);
    // 15 minutes = 15 × 60,000 = 900,000 ms.
    expect(config.billing.reservationTtlMs).toBe(900_000);
    expect(config.logging.level).toBe("info");
    expect(config.demo.enabled).toBe(false);
  });

  it("applies defaults for empty file", () => {
    writeDefaults("");

    expect(loadConfig({}, folder)).toEqual(
      loadConfig({}, join(folder, "missing")),
    );
  });

  it("matches shipped default.yaml", () => {
    // config/default.yaml repeats the schema defaults for operators, so loading
    // it changes nothing.
    const shipped = resolve(__dirname, "../../config");

    expect(loadConfig({}, shipped)).toEqual(loadConfig({}, folder));
  });
});

describe("loadConfig files", () => {
  it("merges default.yaml over defaults", () => {
    writeDefaults("server:\n  port: 9000\ndatabase:\n  busyTimeoutMs: 100\n");
    const config = loadConfig({}, folder);

    expect(config.server.port).toBe(9000);
    expect(config.database.busyTimeoutMs).toBe(100);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.database.synchronous).toBe("FULL");
  });

  it("merges LLM_PROXY_CONFIG over default.yaml", () => {
    writeDefaults("server:\n  host: 0.0.0.0\n  port: 9000\n");
    const extra = join(folder, "extra.yaml");
    writeFileSync(extra, "server:\n  port: 9100\nlogging:\n  level: warn\n");
    const config = loadConfig({ LLM_PROXY_CONFIG: extra }, folder);

    expect(config.server.port).toBe(9100);
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.logging.level).toBe("warn");
  });

  it("rejects missing LLM_PROXY_CONFIG file", () => {
    const missing = join(folder, "absent.yaml");

    expect(loadErrorOf({ LLM_PROXY_CONFIG: missing })).toContain(
      `${missing}, which does not exist`,
    );
  });

  it("rejects non-mapping YAML", () => {
    writeDefaults("- server\n- database\n");

    expect(loadErrorOf()).toContain("must hold a YAML mapping");
  });
});

describe("loadConfig environment", () => {
  beforeEach(() => {
    writeDefaults(
      [
        "server:",
        "  host: 10.0.0.1",
        "  port: 9000",
        "database:",
        "  sqlitePath: from-file.sqlite",
        "demo:",
        "  enabled: true",
        "",
      ].join("\n"),
    );
  });

  it("overrides HOST and PORT", () => {
    const config = loadConfig({ HOST: "0.0.0.0", PORT: "8123" }, folder);

    expect(config.server.host).toBe("0.0.0.0");
    expect(config.server.port).toBe(8123);
  });

  it("ignores empty variables", () => {
    const config = loadConfig({ HOST: "", PORT: "" }, folder);

    expect(config.server.host).toBe("10.0.0.1");
    expect(config.server.port).toBe(9000);
  });

  it("overrides the other variables", () => {
    const config = loadConfig(
      {
        BODY_LIMIT_BYTES: "1024",
        SHUTDOWN_GRACE_MS: "500",
        SQLITE_PATH: "/srv/proxy.sqlite",
        SQLITE_SYNCHRONOUS: "NORMAL",
        SECRETS_FILE: "/srv/secrets.json",
        SPOOL_DIR: "/srv/spool",
        LOG_LEVEL: "debug",
      },
      folder,
    );

    expect(config.server.bodyLimitBytes).toBe(1024);
    expect(config.server.shutdownGraceMs).toBe(500);
    expect(config.database.sqlitePath).toBe("/srv/proxy.sqlite");
    expect(config.database.synchronous).toBe("NORMAL");
    expect(config.secrets.file).toBe("/srv/secrets.json");
    expect(config.billing.spoolDir).toBe("/srv/spool");
    expect(config.logging.level).toBe("debug");
  });

  it.each([
    "postgres://proxy:secret@127.0.0.1:5432/llm_proxy",
    "postgresql://proxy@127.0.0.1/llm_proxy?sslmode=disable",
  ])("reads DATABASE_URL %s", (url) => {
    const config = loadConfig({ DATABASE_URL: url }, folder);

    expect(config.database.url).toBe(url);
    expect(config.database.sqlitePath).toBe("from-file.sqlite");
  });

  it.each([
    ["sqlite:/srv/proxy.sqlite", "/srv/proxy.sqlite"],
    ["sqlite:///srv/proxy.sqlite", "/srv/proxy.sqlite"],
    ["sqlite:data/proxy.sqlite", "data/proxy.sqlite"],
    ["/srv/proxy.sqlite", "/srv/proxy.sqlite"],
    ["data/proxy.sqlite", "data/proxy.sqlite"],
  ])("reads DATABASE_URL %s as SQLite", (url, path) => {
    const config = loadConfig({ DATABASE_URL: url }, folder);

    expect(config.database.sqlitePath).toBe(path);
    expect(config.database.url).toBeNull();
  });

  it("clears file URL for SQLite", () => {
    writeDefaults("database:\n  url: postgres://127.0.0.1/llm_proxy\n");
    const config = loadConfig({ DATABASE_URL: "sqlite:/srv/x.sqlite" }, folder);

    expect(config.database.url).toBeNull();
  });

  it("prefers DATABASE_URL over SQLITE_PATH", () => {
    const config = loadConfig(
      { DATABASE_URL: "/srv/a.sqlite", SQLITE_PATH: "/srv/b.sqlite" },
      folder,
    );

    expect(config.database.sqlitePath).toBe("/srv/a.sqlite");
  });

  it.each([
    ["1", true],
    ["true", true],
    ["0", false],
    ["false", false],
  ])("reads LLM_PROXY_DEMO %p", (value, enabled) => {
    writeDefaults(`demo:\n  enabled: ${String(!enabled)}\n`);

    expect(loadConfig({ LLM_PROXY_DEMO: value }, folder).demo.enabled).toBe(
      enabled,
    );
  });
});

describe("loadConfig validation", () => {
  it.each([
    ["PORT", "http", "server.port"],
    ["PORT", "70000", "server.port"],
    ["PORT", "80.5", "server.port"],
    ["BODY_LIMIT_BYTES", "0", "server.bodyLimitBytes"],
    ["SHUTDOWN_GRACE_MS", "-1", "server.shutdownGraceMs"],
    ["SQLITE_SYNCHRONOUS", "OFF", "database.synchronous"],
    ["LOG_LEVEL", "loud", "logging.level"],
  ])("rejects %s=%p", (name, value, path) => {
    expect(loadErrorOf({ [name]: value })).toContain(`${path}:`);
  });

  it("rejects invalid file value", () => {
    writeDefaults("billing:\n  imageTokenAllowance: 0\n");

    expect(loadErrorOf()).toContain("billing.imageTokenAllowance:");
  });

  it("names every invalid value", () => {
    writeDefaults("proxy:\n  connectTimeoutMs: -5\n");
    const message = loadErrorOf({ LOG_LEVEL: "loud" });

    expect(message).toContain("proxy.connectTimeoutMs:");
    expect(message).toContain("logging.level:");
  });

  it("rejects wrong YAML type", () => {
    writeDefaults("demo:\n  enabled: yes please\n");

    expect(loadErrorOf()).toContain("demo.enabled:");
  });

  it("rejects unknown nested key", () => {
    writeDefaults("server:\n  hots: 0.0.0.0\n");
    const message = loadErrorOf();

    expect(message).toContain("server:");
    expect(message).toContain("hots");
  });

  it("rejects unknown top-level key", () => {
    writeDefaults("servers:\n  port: 80\n");

    expect(loadErrorOf()).toContain("servers");
  });
});
