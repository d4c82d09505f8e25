import { Module } from "@nestjs/common";

import { AuditModule } from "../audit/audit.module";
import { AuthModule } from "../auth/auth.module";
import { BillingModule } from "../billing/billing.module";
import { ClientsModule } from "../clients/clients.module";
import { MaintenanceCoreModule } from "../maintenance/maintenance-core.module";
import { ProvidersModule } from "../providers/providers.module";
import { AdminJobsService } from "./admin-jobs.service";
import { AuditController } from "./audit.controller";
import { ClientTokensController } from "./client-tokens.controller";
import { ClientsController } from "./clients.controller";
import { DashboardController } from "./dashboard.controller";
import { DashboardReportService } from "./dashboard-report.service";
import { LedgerController } from "./ledger.controller";
import { MaintenanceController } from "./maintenance.controller";
import { ModelsController } from "./models.controller";
import { PriceCatalogController } from "./price-catalog.controller";
import { ProvidersController } from "./providers.controller";
import { RequestLogController } from "./request-log.controller";
import { UsageController } from "./usage.controller";

/**
 * The admin REST API under `/api`. Controllers validate, call one service of the owning module and map the
 * result; every route states the least role it needs.
 */
@Module({
  imports: [
    AuthModule,
    AuditModule,
    ClientsModule,
    ProvidersModule,
    BillingModule,
    MaintenanceCoreModule,
  ],
  controllers: [
    ClientsController,
    ClientTokensController,
    ProvidersController,
    ModelsController,
    PriceCatalogController,
    LedgerController,
    UsageController,
    RequestLogController,
    MaintenanceController,
    AuditController,
    DashboardController,
  ],
  providers: [AdminJobsService, DashboardReportService],
})
export class AdminModule {}
