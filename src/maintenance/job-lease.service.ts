import { Injectable } from "@nestjs/common";

import {
  readTime,
  WriteTransactionRunner,
} from "../database/write-transaction";

export interface LeaseState {
  job: string;
  holder: string | null;
  expiresAt: Date;
  lastTickAt: Date | null;
}

/**
 * Leases in `job_leases` that let one process at a time run each job, on one node or on many replicas. Every
 * change is a single conditional statement, so two processes racing for a lease cannot both win. Expiry is
 * compared with the caller's clock, so replicas' clocks must agree to well within the lease time.
 */
@Injectable()
export class JobLeaseService {
  constructor(private readonly db: WriteTransactionRunner) {}

  /**
   * Takes the lease when it is free or expired and returns whether it did. With a `tick` (the scheduled time of
   * a cron tick) it also refuses a tick that an earlier holder already started, so replicas whose timers fire
   * moments apart run each tick once.
   */
  async acquire(request: {
    job: string;
    holder: string;
    now: Date;
    ttlMs: number;
    tick: Date | null;
  }): Promise<boolean> {
    const expiresAt = new Date(request.now.getTime() + request.ttlMs);

    const changed = await this.db.run((tx) =>
      tx.run(
        `insert into job_leases (job, holder, expires_at, last_tick_at) values (?, ?, ?, ?)
         on conflict (job) do update set holder = excluded.holder, expires_at = excluded.expires_at,
           last_tick_at = coalesce(excluded.last_tick_at, job_leases.last_tick_at)
         where (job_leases.holder is null or job_leases.expires_at <= ?)
           and (excluded.last_tick_at is null or job_leases.last_tick_at is null
             or job_leases.last_tick_at < excluded.last_tick_at)`,
        [
          request.job,
          request.holder,
          tx.time(expiresAt),
          request.tick ? tx.time(request.tick) : null,
          tx.time(request.now),
        ],
      ),
    );

    return changed === 1;
  }

  /** Extends a lease this holder still has; returns false when it expired and another process took it. */
  async renew(
    job: string,
    holder: string,
    now: Date,
    ttlMs: number,
  ): Promise<boolean> {
    const expiresAt = new Date(now.getTime() + ttlMs);

    const changed = await this.db.run((tx) =>
      tx.run(
        `update job_leases set expires_at = ? where job = ? and holder = ?`,
        [tx.time(expiresAt), job, holder],
      ),
    );

    return changed === 1;
  }

  /** Gives a lease back so the next run need not wait for it to expire. Does nothing if another process has it. */
  async release(job: string, holder: string, now: Date): Promise<void> {
    await this.db.run((tx) =>
      tx.run(
        `update job_leases set holder = null, expires_at = ? where job = ? and holder = ?`,
        [tx.time(now), job, holder],
      ),
    );
  }

  async list(): Promise<LeaseState[]> {
    const rows = await this.db.read<{
      job: string;
      holder: string | null;
      expires_at: number | string | Date;
      last_tick_at: number | string | Date | null;
    }>(
      `select job, holder, expires_at, last_tick_at from job_leases order by job`,
    );

    return rows.map((row) => ({
      job: row.job,
      holder: row.holder,
      expiresAt: readTime(row.expires_at),
      lastTickAt: row.last_tick_at === null ? null : readTime(row.last_tick_at),
    }));
  }
}
