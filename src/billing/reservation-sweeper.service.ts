import { Injectable, Logger } from "@nestjs/common";
import { Interval } from "@nestjs/schedule";

import { WriteTransactionRunner } from "../database/write-transaction";
import { AccountingStore } from "./accounting.store";
import { ReservationStatus } from "./entities/credit-reservation.entity";

/** How often expired reservations are looked for, in milliseconds. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Voids reservations whose request never settled before its expiry (a crashed process, a lost connection) and
 * returns their holds to the provider's available credit and to the client's limits. Safe on every replica at
 * once: each void is a conditional update of a still-pending row.
 */
@Injectable()
export class ReservationSweeper {
  private readonly logger = new Logger(ReservationSweeper.name);

  constructor(
    private readonly transactions: WriteTransactionRunner,
    private readonly store: AccountingStore,
  ) {}

  @Interval(SWEEP_INTERVAL_MS)
  async sweepOnSchedule(): Promise<void> {
    try {
      await this.sweep(new Date());
    } catch (error) {
      this.logger.error({ msg: "reservation sweep failed", err: error });
    }
  }

  /** Voids every pending reservation that expired before `now`; returns how many it voided. */
  async sweep(now: Date): Promise<number> {
    const expired = await this.transactions.read<{ request_id: string }>(
      `select request_id from credit_reservations where status = ? and expires_at < ? limit 500`,
      [ReservationStatus.Pending, this.transactions.time(now)],
    );

    let voided = 0;
    for (const { request_id: requestId } of expired) {
      if (await this.store.void(requestId, now)) {
        voided += 1;
      }
    }

    if (voided > 0) {
      this.logger.warn({
        msg: "voided expired credit reservations",
        count: voided,
      });
    }

    return voided;
  }
}
