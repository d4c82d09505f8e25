import {
  Inject,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from "@nestjs/common";

import { AccountingService } from "../billing/accounting.service";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { InFlightRequests } from "./in-flight.service";

/**
 * Renews the credit holds of this process's requests in flight three times per reservation lifetime, so the
 * sweeper voids only the holds of processes that died. A stream may thus run longer than the lifetime without
 * losing its hold.
 */
@Injectable()
export class HoldRenewal
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly inFlight: InFlightRequests,
    private readonly accounting: AccountingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.max(
      1_000,
      Math.floor(this.config.billing.reservationTtlMs / 3),
    );
    this.timer = setInterval(() => void this.renew(), every);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) {
      clearInterval(this.timer);
    }
  }

  /** Renews every hold of a request now in flight. */
  async renew(): Promise<void> {
    const ids = this.inFlight.ids();
    if (ids.length > 0) {
      await this.accounting.renewHolds(ids);
    }
  }
}
