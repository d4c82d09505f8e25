import { z } from "zod";

/** A whole number from YAML, or from an environment string of digits only ("0x10", "1e3" and "" are invalid). */
const wholeNumber = z
  .union([
    z.number(),
    z.string().regex(/^\d+$/, "expected digits only").transform(Number),
  ])
  .pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER));

/** Positive whole number. */
const count = wholeNumber.pipe(z.number().positive());

/**
 * Every setting of the service, with its unit in the name or the comment.
 * The defaults here are the ones a fresh install runs with; `config/default.yaml` repeats them for operators.
 */
export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: wholeNumber.pipe(z.number().max(65535)).default(8080),
        /** Largest accepted request body in bytes; large enough for base64 image inputs. */
        bodyLimitBytes: count.default(32 * 1024 * 1024),
        /** How long shutdown waits for in-flight requests before aborting them, in milliseconds. */
        shutdownGraceMs: count.default(30_000),
        /** Addresses whose X-Forwarded-For is trusted, as Fastify's trustProxy accepts them. */
        trustProxy: z.union([z.boolean(), z.string()]).default(false),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        /** postgres:// URL for scale-out; when absent, the SQLite file at `sqlitePath` is used. */
        url: z.string().min(1).nullable().default(null),
        sqlitePath: z.string().min(1).default("data/llm-proxy.sqlite"),
        /** How long a write waits for a lock before failing (SQLite busy timeout, PostgreSQL lock_timeout), in milliseconds. */
        busyTimeoutMs: count.default(5000),
        /** SQLite `synchronous` pragma; FULL keeps acknowledged debits across power loss. */
        synchronous: z.enum(["FULL", "NORMAL", "EXTRA"]).default("FULL"),
        /** Copy the SQLite file aside before migrations change it. */
        backupBeforeMigrate: z.boolean().default(true),
        /** PostgreSQL connections kept open; SQLite always uses one connection. */
        poolMin: wholeNumber.default(2),
        poolMax: count.default(10),
        /** How long a request waits for a free PostgreSQL connection, in milliseconds. */
        poolAcquireTimeoutMs: count.default(10_000),
        /** Statements slower than this are logged with their duration, in milliseconds. */
        slowQueryMs: count.default(200),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        /** JSON file with the master keys and the token pepper, created with mode 0600 on first run. */
        file: z.string().min(1).default("data/secrets.json"),
      })
      .strict()
      .prefault({}),
    proxy: z
      .object({
        connectTimeoutMs: count.default(10_000),
        /** Time allowed until the upstream sends response headers, in milliseconds. */
        headersTimeoutMs: count.default(120_000),
        /** Longest silence allowed between two upstream body chunks, in milliseconds. */
        bodyIdleTimeoutMs: count.default(120_000),
        /** Keep-alive connections per provider origin. */
        connectionsPerProvider: count.default(128),
      })
      .strict()
      .prefault({}),
    billing: z
      .object({
        /** A pending credit reservation older than this is voided by the sweeper, in milliseconds. */
        reservationTtlMs: count.default(15 * 60_000),
        /** Output tokens reserved when neither the request nor the model sets a limit. */
        defaultMaxOutputTokens: count.default(16_384),
        /** Input tokens reserved for each image part, which the byte bound cannot cover. */
        imageTokenAllowance: count.default(8_000),
        /** Folder for accounting records that could not be written to the database yet. */
        spoolDir: z.string().min(1).default("data/spool"),
        /** How often spooled records are retried, in milliseconds. */
        spoolRetryMs: count.default(5_000),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z
          .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
          .default("info"),
      })
      .strict()
      .prefault({}),
    demo: z
      .object({
        /** Seeds a demo client and starts a local stand-in provider; for trying the proxy offline. */
        enabled: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type AppConfig = z.infer<typeof configSchema>;
