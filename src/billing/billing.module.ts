import { Module } from "@nestjs/common";

import { AccountingService } from "./accounting.service";
import { AccountingStore } from "./accounting.store";
import { ReservationSweeper } from "./reservation-sweeper.service";
import { SpoolService } from "./spool.service";

@Module({
  providers: [
    AccountingStore,
    AccountingService,
    SpoolService,
    ReservationSweeper,
  ],
  exports: [AccountingService, ReservationSweeper],
})
export class BillingModule {}
