import { isIP } from "node:net";

import { validateCronExpression } from "cron";
import { z } from "zod";

import { isKnownTimeZone } from "../limits/periods";

/** A whole number from YAML, or from an environment string of digits only ("0x10", "1e3" and "" are invalid). */
const wholeNumber = z
  .union([
    z.number(),
    z.string().regex(/^\d+$/, "expected digits only").transform(Number),
  ])
  .pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER));

/** Positive whole number. */
const count = wholeNumber.pipe(z.number().positive());

/** A cron expression with five fields, or six with seconds first, as the `cron` package parses it. */
const cronExpression = z.string().superRefine((value, context) => {
  const { valid, error } = validateCronExpression(value);
  if (!valid) {
    context.addIssue({
      code: "custom",
      message: `invalid cron expression '${value}' (${error?.message ?? "not parsed"}); use five fields, minute hour day month weekday, or six with seconds first`,
    });
  }
});

/** When a maintenance job runs (UTC), and for how long one run may go on before it stops at the next batch. */
const jobSchedule = (cron: string, timeBudgetMs: number) =>
  z
    .object({
      enabled: z.boolean().default(true),
      cron: cronExpression.default(cron),
      /** Milliseconds; checked between batches and steps, so a statement in progress still finishes. */
      timeBudgetMs: count.default(timeBudgetMs),
    })
    .strict()
    .prefault({});

/** Which of our roles each group (from an OIDC claim or a proxy header) grants; the highest match wins. */
const groupRoles = z
  .object({
    admin: z.array(z.string().min(1)).default([]),
    operator: z.array(z.string().min(1)).default([]),
    viewer: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .prefault({});

/** An address or CIDR range, IPv4 or IPv6, as `net.BlockList` takes it. */
const addressOrRange = z.string().superRefine((value, context) => {
  const [address, prefix, ...rest] = value.split("/");
  const family = isIP(address ?? "");
  const bits = family === 6 ? 128 : 32;
  const prefixValid =
    prefix === undefined ||
    (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
  if (family === 0 || !prefixValid || rest.length > 0) {
    context.addIssue({
      code: "custom",
      message: `'${value}' is not an IP address or CIDR range such as 10.0.0.0/8`,
    });
  }
});

/** Admin sign-in: sessions, password throttling, OpenID Connect and a trusted SSO proxy. */
const authSchema = z
  .object({
    /** How long an admin session lasts after sign-in, in milliseconds. */
    sessionTtlMs: count.default(8 * 60 * 60_000),
    /** Marks the session cookie Secure; turn on when browsers reach the service over HTTPS. */
    secureCookies: z.boolean().default(false),
    /** Failed password sign-ins allowed per username and per address within `windowMs` before a lockout. */
    maxFailedSignIns: count.default(5),
    /** Window in which failed sign-ins are counted, and how long the lockout lasts, in milliseconds. */
    failedSignInWindowMs: count.default(15 * 60_000),
    /** The first administrator, created at start-up when the database has no users; set from the environment. */
    initialAdmin: z
      .object({
        username: z.string().min(1).nullable().default(null),
        password: z.string().min(12).nullable().default(null),
      })
      .strict()
      .prefault({}),
    oidc: z
      .object({
        enabled: z.boolean().default(false),
        /** Issuer URL; its discovery document is read at the first sign-in. */
        issuer: z.string().url().nullable().default(null),
        clientId: z.string().min(1).nullable().default(null),
        /** Client secret; null for a public client that relies on PKCE alone. */
        clientSecret: z.string().min(1).nullable().default(null),
        /** This service's callback, `https://HOST/api/auth/oidc/callback`, as registered at the provider. */
        redirectUrl: z.string().url().nullable().default(null),
        scopes: z
          .array(z.string().min(1))
          .default(["openid", "profile", "email"]),
        /** ID-token claim holding the user's groups or roles, a string or a list of strings. */
        groupsClaim: z.string().min(1).default("groups"),
        /** ID-token claim used as the username; falls back to `email`, then the subject. */
        usernameClaim: z.string().min(1).default("preferred_username"),
        roles: groupRoles,
        /** How long a started sign-in may take before its state is discarded, in milliseconds. */
        flowTtlMs: count.default(10 * 60_000),
        /** Allowed difference between our clock and the provider's when checking ID tokens, in seconds. */
        clockToleranceSeconds: wholeNumber.default(30),
      })
      .strict()
      .prefault({})
      .superRefine((oidc, context) => {
        if (!oidc.enabled) {
          return;
        }
        for (const key of ["issuer", "clientId", "redirectUrl"] as const) {
          if (oidc[key] === null) {
            context.addIssue({
              code: "custom",
              path: [key],
              message: "required when auth.oidc.enabled is true",
            });
          }
        }
      }),
    trustedHeader: z
      .object({
        enabled: z.boolean().default(false),
        /** TCP peer addresses or CIDR ranges of the SSO proxies whose headers are believed. */
        proxies: z.array(addressOrRange).default([]),
        userHeader: z.string().min(1).default("x-forwarded-user"),
        emailHeader: z.string().min(1).default("x-forwarded-email"),
        /** Comma-separated group names. */
        groupsHeader: z.string().min(1).default("x-forwarded-groups"),
        roles: groupRoles,
      })
      .strict()
      .prefault({})
      .superRefine((header, context) => {
        if (header.enabled && header.proxies.length === 0) {
          context.addIssue({
            code: "custom",
            path: ["proxies"],
            message:
              "list at least one proxy address when auth.trustedHeader.enabled is true",
          });
        }
      }),
  })
  .strict()
  .prefault({});

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
        /**
         * How far V8 lets the heap grow past what survived the last full collection before it collects again, in
         * percent; 0 leaves it to V8, which grows up to fourfold under load.
         */
        heapGrowingPercent: wholeNumber.pipe(z.number().max(300)).default(50),
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
        /**
         * How long a process reuses a token or model lookup, in milliseconds; 0 looks up every request. Changes
         * made through this process apply at once; changes made elsewhere (CLI, other replicas) within this time.
         */
        lookupCacheMs: z.number().int().min(0).max(5_000).default(2_000),
      })
      .strict()
      .prefault({}),
    routing: z
      .object({
        /** Most provider attempts for one client request, the first included; 1 turns failover off. */
        maxAttempts: count.pipe(z.number().max(10)).default(3),
        /** First retry delay on the same provider, doubled each time and jittered, in milliseconds. */
        backoffBaseMs: count.default(100),
        backoffMaxMs: count.default(2_000),
        /** A provider's Retry-After longer than this is not waited for: the provider is rested instead, in milliseconds. */
        maxRetryAfterMs: count.default(10_000),
        /** Whole call, body included, unless the provider sets its own, in milliseconds. */
        totalTimeoutMs: count.default(600_000),
        /** Consecutive failures that open a provider's circuit; 0 turns the breaker off. */
        breakerFailureThreshold: wholeNumber.default(5),
        /** How long an open circuit rests its provider before one probe request is let through, in milliseconds. */
        breakerCooldownMs: count.default(30_000),
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
    limits: z
      .object({
        /** IANA time zone whose calendar days and months the client budgets reset on, such as `Europe/Berlin`. */
        timeZone: z
          .string()
          .min(1)
          .default("UTC")
          .refine(isKnownTimeZone, {
            error: (issue) =>
              `unknown time zone '${String(issue.input)}'; use an IANA name such as UTC or Europe/Berlin`,
          }),
      })
      .strict()
      .prefault({}),
    maintenance: z
      .object({
        /** Request rows and settled credit reservations older than this many days are deleted by retention. */
        retentionDays: count.default(90),
        /** Rows deleted per retention transaction; each batch is one short write transaction. */
        retentionBatchSize: count.pipe(z.number().max(10_000)).default(1000),
        /** When set, retention first appends each batch to a gzip-compressed JSON Lines file in this folder. */
        archiveDir: z.string().min(1).nullable().default(null),
        /** Reconciliation repairs the drift it finds; when false it only reports it. */
        repairDrift: z.boolean().default(false),
        /** How long a job's lease lasts without renewal, in milliseconds; renewed every third of it. */
        leaseTtlMs: count.pipe(z.number().min(1000)).default(60_000),
        jobs: z
          .object({
            retention: jobSchedule("30 3 * * *", 20 * 60_000),
            analyze: jobSchedule("0 4 * * *", 10 * 60_000),
            reconcile: jobSchedule("30 4 * * *", 10 * 60_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    auth: authSchema,
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
