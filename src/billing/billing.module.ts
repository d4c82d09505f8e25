import { Module } from "@nestjs/common";

import { AccountingService } from "./accounting.service";
import { AccountingStore } from "./accounting.store";
import { LedgerService } from "./ledger.service";
import { RequestLogService } from "./request-log.service";
import { ReservationSweeper } from "./reservation-sweeper.service";
import { SpoolService } from "./spool.service";
import { UsageReportService } from "./usage-report.service";

@Module({
  providers: [
    AccountingStore,
    AccountingService,
    SpoolService,
    ReservationSweeper,
    LedgerService,
    RequestLogService,
    UsageReportService,
  ],
  exports: [
    AccountingService,
    ReservationSweeper,
    LedgerService,
    RequestLogService,
    UsageReportService,
  ],
})
export class BillingModule {}
