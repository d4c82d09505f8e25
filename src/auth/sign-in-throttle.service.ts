import { Inject, Injectable, Logger } from "@nestjs/common";

import { ProxyError } from "../common/proxy-error";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  readTime,
  SqlTransaction,
  WriteTransactionRunner,
} from "../database/write-transaction";

interface FailureRow {
  failures: number;
  window_started_at: Date | number | string;
  locked_until: Date | number | string | null;
}

/**
 * Limits failed password sign-ins per username and per client address. Counters live in
 * `admin_sign_in_failures`, so every replica reads the same counts: after `auth.maxFailedSignIns` failures within
 * `auth.failedSignInWindowMs`, that username or address is refused with 429 for the same length of time.
 */
@Injectable()
export class SignInThrottle {
  private readonly logger = new Logger(SignInThrottle.name);
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(
    private readonly db: WriteTransactionRunner,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.maxFailures = config.auth.maxFailedSignIns;
    this.windowMs = config.auth.failedSignInWindowMs;
  }

  /** Throws 429 while the username or the address is locked out. */
  async assertAllowed(username: string, address: string | null): Promise<void> {
    const now = Date.now();
    for (const subject of subjectsOf(username, address)) {
      const [row] = await this.db.read<FailureRow>(
        "select failures, window_started_at, locked_until from admin_sign_in_failures where subject = ?",
        [subject],
      );
      const lockedUntil = row?.locked_until ? readTime(row.locked_until) : null;
      if (lockedUntil && lockedUntil.getTime() > now) {
        throw tooManyAttempts(lockedUntil.getTime() - now);
      }
    }
  }

  /** Counts a failed sign-in against the username and the address, locking either out at the limit. */
  async recordFailure(username: string, address: string | null): Promise<void> {
    for (const subject of subjectsOf(username, address)) {
      const locked = await this.db.run((tx) => this.count(tx, subject));
      if (locked) {
        // The subject names the username or address under attack; neither is a secret.
        this.logger.warn({
          msg: "sign-ins locked out after repeated failures",
          subject,
          lockoutMs: this.windowMs,
        });
      }
    }
  }

  /** Clears the username's counter after a successful sign-in; the address keeps its count. */
  async recordSuccess(username: string): Promise<void> {
    await this.db.run((tx) =>
      tx.run("delete from admin_sign_in_failures where subject = ?", [
        userSubject(username),
      ]),
    );
  }

  /** Adds one failure in the current window; returns whether this failure started a lockout. */
  private async count(tx: SqlTransaction, subject: string): Promise<boolean> {
    const now = new Date();
    // Counters whose window and lockout are over no longer matter. Deleting them here keeps the table as small
    // as the recent failures, however many usernames an attacker tries.
    const stale = tx.time(new Date(now.getTime() - this.windowMs));
    await tx.run(
      "delete from admin_sign_in_failures where window_started_at < ? and (locked_until is null or locked_until < ?) and subject <> ?",
      [stale, tx.time(now), subject],
    );
    await tx.run(
      "insert into admin_sign_in_failures (subject, failures, window_started_at, locked_until) values (?, 0, ?, null) on conflict (subject) do nothing",
      [subject, tx.time(now)],
    );
    const [row] = await tx.all<FailureRow>(
      `select failures, window_started_at, locked_until from admin_sign_in_failures where subject = ?${tx.forUpdate}`,
      [subject],
    );

    const windowOver =
      readTime(row.window_started_at).getTime() + this.windowMs <=
      now.getTime();
    const failures = windowOver ? 1 : row.failures + 1;
    const lockedUntil =
      failures >= this.maxFailures
        ? new Date(now.getTime() + this.windowMs)
        : null;
    await tx.run(
      "update admin_sign_in_failures set failures = ?, window_started_at = ?, locked_until = ? where subject = ?",
      [
        lockedUntil ? 0 : failures,
        tx.time(
          windowOver || lockedUntil ? now : readTime(row.window_started_at),
        ),
        lockedUntil ? tx.time(lockedUntil) : null,
        subject,
      ],
    );

    return lockedUntil !== null;
  }
}

function subjectsOf(username: string, address: string | null): string[] {
  return address
    ? [userSubject(username), `address:${address}`]
    : [userSubject(username)];
}

function userSubject(username: string): string {
  return `user:${username.slice(0, 200)}`;
}

function tooManyAttempts(retryAfterMs: number): ProxyError {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return new ProxyError(
    `Too many failed sign-ins for this username or address; try again in ${seconds} seconds`,
    {
      status: 429,
      type: "rate_limit_error",
      code: "too_many_sign_in_attempts",
      headers: { "retry-after": String(seconds) },
      logLevel: "warn",
    },
  );
}
