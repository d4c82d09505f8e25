import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

import { AppConfig, configSchema } from "./config.schema";

type Env = Record<string, string | undefined>;

/**
 * Environment variables that override file settings, as dotted paths into the config.
 * DATABASE_URL takes a postgres:// URL, a `sqlite:` URL or a plain SQLite file path.
 */
const ENV_OVERRIDES: Record<string, string> = {
  HOST: "server.host",
  PORT: "server.port",
  BODY_LIMIT_BYTES: "server.bodyLimitBytes",
  SHUTDOWN_GRACE_MS: "server.shutdownGraceMs",
  SQLITE_PATH: "database.sqlitePath",
  SQLITE_SYNCHRONOUS: "database.synchronous",
  SECRETS_FILE: "secrets.file",
  SPOOL_DIR: "billing.spoolDir",
  LIMITS_TIME_ZONE: "limits.timeZone",
  LOG_LEVEL: "logging.level",
  LLM_PROXY_ADMIN_USERNAME: "auth.initialAdmin.username",
  LLM_PROXY_ADMIN_PASSWORD: "auth.initialAdmin.password",
  LLM_PROXY_OIDC_CLIENT_SECRET: "auth.oidc.clientSecret",
};

/**
 * Builds the configuration: `config/default.yaml`, then the file named by LLM_PROXY_CONFIG, then environment
 * variables. Fails fast with the dotted name of every invalid value.
 */
export function loadConfig(
  env: Env = process.env,
  configDir = resolve(process.cwd(), "config"),
): AppConfig {
  const merged: Record<string, unknown> = {};

  mergeInto(merged, readYaml(resolve(configDir, "default.yaml")));

  if (env.LLM_PROXY_CONFIG) {
    const extra = resolve(env.LLM_PROXY_CONFIG);
    if (!existsSync(extra)) {
      throw new Error(`LLM_PROXY_CONFIG names ${extra}, which does not exist`);
    }
    mergeInto(merged, readYaml(extra));
  }

  applyEnv(merged, env);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(`Invalid configuration: ${describeIssues(parsed.error)}`);
  }

  return parsed.data;
}

function readYaml(path: string): Record<string, unknown> {
  if (!existsSync(path)) {
    return {};
  }

  const value: unknown = parseYaml(readFileSync(path, "utf8"));
  if (value === null || value === undefined) {
    return {};
  }
  if (!isPlainObject(value)) {
    throw new Error(`${path} must hold a YAML mapping at the top level`);
  }

  return value;
}

function applyEnv(target: Record<string, unknown>, env: Env): void {
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== "") {
      setPath(target, path, value);
    }
  }

  const databaseUrl = env.DATABASE_URL;
  if (databaseUrl) {
    applyDatabaseUrl(target, databaseUrl);
  }

  if (env.LLM_PROXY_DEMO !== undefined && env.LLM_PROXY_DEMO !== "") {
    setPath(
      target,
      "demo.enabled",
      parseFlag("LLM_PROXY_DEMO", env.LLM_PROXY_DEMO),
    );
  }
}

/** Accepts `postgres://` and `postgresql://` URLs, `sqlite:` URLs and plain SQLite file paths. */
function applyDatabaseUrl(
  target: Record<string, unknown>,
  databaseUrl: string,
): void {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    setPath(target, "database.url", databaseUrl);
    return;
  }

  if (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(databaseUrl) &&
    !databaseUrl.startsWith("sqlite:")
  ) {
    const scheme = databaseUrl.slice(0, databaseUrl.indexOf(":"));
    throw new Error(
      `DATABASE_URL uses the unsupported scheme '${scheme}'; use postgres://..., sqlite:PATH or a file path`,
    );
  }

  setPath(target, "database.url", null);
  setPath(
    target,
    "database.sqlitePath",
    databaseUrl.replace(/^sqlite:(\/\/)?/, ""),
  );
}

/** Reads a boolean environment variable: 1, true, yes, on or 0, false, no, off, in any case. */
function parseFlag(name: string, value: string): boolean {
  const normalized = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(normalized)) {
    return true;
  }
  if (["0", "false", "no", "off"].includes(normalized)) {
    return false;
  }
  throw new Error(
    `${name} must be one of 1, true, yes, on, 0, false, no, off; got '${value}'`,
  );
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function setPath(
  target: Record<string, unknown>,
  path: string,
  value: unknown,
): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (!isPlainObject(child)) {
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function mergeInto(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isPlainObject(value) && isPlainObject(existing)) {
      mergeInto(existing, value);
    } else {
      target[key] = value;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
