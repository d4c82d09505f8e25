import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { AccountingStore, AdmissionResult } from "./accounting.store";
import { Nanos } from "./money";
import { RequestRecord, SettleOutcome } from "./request-record";
import { MetricsService } from "../metrics/metrics.service";
import { SpoolService } from "./spool.service";

export interface AdmissionRequest {
  requestId: string;
  providerId: number;
  clientId: number;
  prepaid: boolean;
  /** Worst-case cost in nano-dollars; held only on prepaid providers. */
  worstCase: Nanos;
}

/**
 * Meters requests: admits them against prepaid credit, and writes each finished request exactly once. A record
 * the database does not take is spooled to disk and retried until it is written, so a database outage loses
 * nothing.
 */
@Injectable()
export class AccountingService
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(AccountingService.name);
  private retryTimer: NodeJS.Timeout | null = null;
  private replaying: Promise<void> | null = null;

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
  }

  /** Holds the worst-case cost on a prepaid provider and claims the request id. */
  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const now = new Date();

    return this.store.admit({
      requestId: request.requestId,
      providerId: request.providerId,
      clientId: request.clientId,
      amount: request.prepaid ? request.worstCase : 0n,
      prepaid: request.prepaid,
      expiresAt: new Date(now.getTime() + this.config.billing.reservationTtlMs),
      now,
    });
  }

  /**
   * Releases the hold of a request that never reached its provider. A failure is logged and left to the
   * sweeper, which voids the reservation when it expires.
   */
  async void(requestId: string, providerId: number): Promise<void> {
    try {
      await this.store.void(requestId, providerId, new Date());
    } catch (error) {
      this.logger.error({
        msg: "could not void reservation; the sweeper will release it",
        requestId,
        err: error,
      });
    }
  }

  /** Records a finished request. Resolves once the record is committed or durably spooled. */
  async settle(record: RequestRecord): Promise<SettleOutcome> {
    try {
      const outcome = await this.store.settle(record);
      if (outcome === "duplicate") {
        this.logger.warn({
          msg: "request already recorded; nothing charged again",
          requestId: record.requestId,
        });
      }
      return outcome;
    } catch (error) {
      this.logger.error({
        msg: "database rejected the accounting record; spooling it",
        requestId: record.requestId,
        err: error,
      });
      this.spool.save(record);
      this.metrics.observeSpooled();
      return "spooled";
    }
  }

  /** Writes spooled records to the database; one replay runs at a time. */
  replaySpool(): Promise<void> {
    this.replaying ??= this.replayPending().finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  private async replayPending(): Promise<void> {
    for (const requestId of this.spool.pending()) {
      const record = this.spool.load(requestId);
      if (!record) {
        continue;
      }

      try {
        const outcome = await this.store.settle(record);
        this.spool.remove(requestId);
        this.logger.log({
          msg: "wrote spooled accounting record",
          requestId,
          outcome,
        });
      } catch (error) {
        this.logger.warn({
          msg: "database still unavailable for spooled records; will retry",
          requestId,
          err: error,
        });
        return;
      }
    }
  }
}
