import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { AccountingStore } from "./accounting.store";
import { Nanos } from "./money";
import {
  RequestRecord,
  serializeRecord,
  SettleOutcome,
} from "./request-record";
import { MetricsService } from "../metrics/metrics.service";
import { SpoolService } from "./spool.service";

export interface AdmissionRequest {
  requestId: string;
  providerId: number;
  clientId: number;
  prepaid: boolean;
  /** Worst-case cost in nano-dollars; held against a prepaid provider's credit and against the client's budgets. */
  worstCase: Nanos;
  /** Worst-case tokens (input plus output bounds), held against the client's tokens per minute. */
  worstCaseTokens: number;
  /** False for a failover attempt of a request already counted against the client's requests per minute. */
  countsRequest: boolean;
  /**
   * False for a client without limits: no holds are taken on its row, and settlement releases none. Defaults
   * to true, which is always correct and only slower.
   */
  holdClientLimits?: boolean;
  /** Admission time, which picks the rate window, day and month the request counts in; defaults to now. */
  now?: Date;
}

/** A per-client limit that refused a request. */
export type ClientLimitName =
  | "requests_per_minute"
  | "tokens_per_minute"
  | "concurrent_requests"
  | "daily_budget"
  | "monthly_budget";

/** Where a client stands against its rate limits after admission; a field is absent when that limit is not set. */
export interface RateLimitSnapshot {
  requests?: { limit: number; remaining: number; resetSeconds: number };
  tokens?: { limit: number; remaining: number; resetSeconds: number };
}

export type AdmissionOutcome =
  | { outcome: "admitted"; rateLimits: RateLimitSnapshot | null }
  | { outcome: "insufficient_credit" }
  | { outcome: "duplicate_request_id" }
  | {
      outcome: "limited";
      limit: ClientLimitName;
      /** Whole seconds until the limit can admit this request again. */
      retryAfterSeconds: number;
      rateLimits: RateLimitSnapshot | null;
    };

/**
 * Meters requests: admits them against prepaid credit and client limits, and writes each finished request
 * exactly once. A record the database does not take is spooled to disk and retried until it is written, so a
 * database outage loses nothing.
 */
@Injectable()
export class AccountingService
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(AccountingService.name);
  private retryTimer: NodeJS.Timeout | null = null;
  private replaying: Promise<void> | null = null;
  /** Records that neither the database nor the spool took, by request id; retried with the spool. */
  private readonly stranded = new Map<string, RequestRecord>();

  constructor(
    private readonly store: AccountingStore,
    private readonly spool: SpoolService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.replaySpool();
    this.retryTimer = setInterval(
      () => void this.replaySpool(),
      this.config.billing.spoolRetryMs,
    );
    this.retryTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.retryTimer) {
      clearInterval(this.retryTimer);
    }
    await this.replaying;
    await this.replaySpool();

    // The last resort for records nothing would take: the log line carries the whole record (ids and
    // counts, no secrets), so an operator can still write it by hand.
    for (const record of this.stranded.values()) {
      this.logger.error({
        msg: "accounting record lost at shutdown: neither the database nor the spool took it",
        requestId: record.requestId,
        record: JSON.parse(serializeRecord(record)) as unknown,
      });
    }
  }

  /** Number of records held in memory because neither the database nor the spool took them. */
  strandedCount(): number {
    return this.stranded.size;
  }

  /**
   * Admits a request: holds the worst-case cost on a prepaid provider, takes the client's holds against its rate
   * limits, concurrency and budgets, and claims the request id, all in one transaction. Budgets hold the worst
   * case on every provider, prepaid or not.
   */
  async admit(request: AdmissionRequest): Promise<AdmissionOutcome> {
    const now = request.now ?? new Date();

    return this.store.admit({
      requestId: request.requestId,
      providerId: request.providerId,
      clientId: request.clientId,
      amount: request.prepaid ? request.worstCase : 0n,
      prepaid: request.prepaid,
      worstCase: request.worstCase,
      worstCaseTokens: request.worstCaseTokens,
      countsRequest: request.countsRequest,
      holdClientLimits: request.holdClientLimits ?? true,
      expiresAt: new Date(now.getTime() + this.config.billing.reservationTtlMs),
      now,
    });
  }

  /**
   * Releases the holds of a request that never reached its provider: its provider credit and its client holds.
   * A failure is logged and left to the sweeper, which voids the reservation when it expires.
   */
  async void(requestId: string, providerId: number): Promise<void> {
    try {
      await this.store.void(requestId, new Date());
    } catch (error) {
      this.logger.error({
        msg: "could not void reservation; the sweeper will release it",
        requestId,
        providerId,
        err: error,
      });
    }
  }

  /** Records a finished request. Resolves once the record is committed or durably spooled. */
  async settle(record: RequestRecord): Promise<SettleOutcome> {
    try {
      const { outcome, shortfall } = await this.store.settle(record);
      if (outcome === "duplicate") {
        this.logger.warn({
          msg: "request already recorded; nothing charged again",
          requestId: record.requestId,
        });
      }
      this.reportShortfall(record, shortfall);
      return outcome;
    } catch (error) {
      this.logger.error({
        msg: "database rejected the accounting record; spooling it",
        requestId: record.requestId,
        err: error,
      });
      this.spoolOrHold(record);
      return "spooled";
    }
  }

  /** Spools a record; if the spool fails too, keeps it in memory for the next retry and fails readiness. */
  private spoolOrHold(record: RequestRecord): void {
    try {
      this.spool.save(record);
      this.metrics.observeSpooled();
      this.stranded.delete(record.requestId);
    } catch (error) {
      this.stranded.set(record.requestId, record);
      this.logger.error({
        msg: "the spool did not take the accounting record either; holding it in memory and retrying",
        requestId: record.requestId,
        err: error,
      });
    }
  }

  /** Writes spooled records to the database; one replay runs at a time. */
  replaySpool(): Promise<void> {
    this.replaying ??= this.replayPending().finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  /**
   * Pushes back the expiry of the holds of requests still in flight, so that a stream longer than the
   * reservation lifetime keeps its hold. Failures are logged; the next renewal tries again.
   */
  async renewHolds(requestIds: string[]): Promise<void> {
    const expiresAt = new Date(
      Date.now() + this.config.billing.reservationTtlMs,
    );
    try {
      await this.store.renew(requestIds, expiresAt);
    } catch (error) {
      this.logger.warn({
        msg: "could not renew credit holds; will retry",
        count: requestIds.length,
        err: error,
      });
    }
  }

  /**
   * Writes spooled records to the database, oldest first. It stops at the first failure that looks like an
   * outage and retries later; a record the database rejects for any other reason is moved aside for an
   * operator, so it cannot hold back the records behind it.
   */
  private async replayPending(): Promise<void> {
    // After one outage the database is not tried again in this pass, so each record costs one busy timeout at most.
    let databaseDown = false;
    for (const record of [...this.stranded.values()]) {
      if (!databaseDown) {
        try {
          const { shortfall } = await this.store.settle(record);
          this.stranded.delete(record.requestId);
          this.reportShortfall(record, shortfall);
          this.logger.log({
            msg: "wrote accounting record held in memory",
            requestId: record.requestId,
          });
          continue;
        } catch (error) {
          databaseDown = isOutage(error);
          this.logger.warn({
            msg: "database did not take the record held in memory; trying the spool",
            requestId: record.requestId,
            err: error,
          });
        }
      }

      this.spoolOrHold(record);
    }

    let pending: string[];
    try {
      pending = this.spool.pending();
    } catch (error) {
      this.logger.error({
        msg: "cannot read the accounting spool",
        err: error,
      });
      return;
    }

    for (const requestId of pending) {
      const record = this.spool.load(requestId);
      if (!record) {
        this.spool.reject(requestId, "unreadable");
        continue;
      }

      try {
        const { outcome, shortfall } = await this.store.settle(record);
        this.spool.remove(requestId);
        this.reportShortfall(record, shortfall);
        this.logger.log({
          msg: "wrote spooled accounting record",
          requestId,
          outcome,
        });
      } catch (error) {
        if (isOutage(error)) {
          this.logger.warn({
            msg: "database still unavailable for spooled records; will retry",
            requestId,
            err: error,
          });
          return;
        }
        this.logger.error({
          msg: "database rejected a spooled record; moved aside",
          requestId,
          err: error,
        });
        this.spool.reject(
          requestId,
          error instanceof Error ? error.message : String(error),
        );
      }
    }
  }

  private reportShortfall(record: RequestRecord, shortfall: Nanos): void {
    if (shortfall <= 0n) {
      return;
    }

    this.metrics.observeShortfall(shortfall);
    this.logger.warn({
      msg: "prepaid balance could not cover a request; the uncovered part is recorded as credit_shortfall",
      requestId: record.requestId,
      providerId: record.providerId,
      cost: record.cost.toString(),
      shortfall: shortfall.toString(),
    });
  }
}

/** SQLite result codes and PostgreSQL states that mean "try again later" rather than "this record is bad". */
const OUTAGE_CODES = new Set([
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_IOERR",
  "SQLITE_CANTOPEN",
  "SQLITE_FULL",
  "SQLITE_READONLY",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "55P03",
  "40001",
  "40P01",
]);

/** Whether a database error is an outage (retry the same record later) rather than a rejection of it. */
function isOutage(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (
    typeof code === "string" &&
    (OUTAGE_CODES.has(code) || code.startsWith("08"))
  ) {
    return true;
  }
  const name = (error as { name?: unknown })?.name;
  return name === "KnexTimeoutError";
}
