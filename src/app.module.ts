import { DynamicModule, Module } from "@nestjs/common";
import { ScheduleModule } from "@nestjs/schedule";
import { Logger } from "pino";

import { AdminModule } from "./admin/admin.module";
import { AuthModule } from "./auth/auth.module";
import { BillingModule } from "./billing/billing.module";
import { ClientsModule } from "./clients/clients.module";
import { ConfigModule } from "./config/config.module";
import { AppConfig } from "./config/config.schema";
import { CryptoModule } from "./crypto/crypto.module";
import { DashboardModule } from "./dashboard/dashboard.module";
import { DatabaseModule } from "./database/database.module";
import { DemoModule } from "./demo/demo.module";
import { HealthModule } from "./health/health.module";
import { LoggingModule } from "./logging/logging.module";
import { MaintenanceModule } from "./maintenance/maintenance.module";
import { MetricsModule } from "./metrics/metrics.module";
import { ProvidersModule } from "./providers/providers.module";
import { ProxyModule } from "./proxy/proxy.module";

@Module({})
export class AppModule {
  /** The whole service for the given configuration, logging through `logger`. */
  static register(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        DatabaseModule.forRoot(config),
        CryptoModule,
        ScheduleModule.forRoot(),
        MetricsModule,
        AuthModule,
        ClientsModule,
        ProvidersModule,
        BillingModule,
        ProxyModule,
        MaintenanceModule,
        AdminModule,
        HealthModule,
        DashboardModule,
        ...(config.demo.enabled ? [DemoModule] : []),
      ],
    };
  }
}
