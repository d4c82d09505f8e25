import { DynamicModule, Module } from "@nestjs/common";

import { AuthCoreModule } from "../auth/auth-core.module";
import { ClientsModule } from "../clients/clients.module";
import { ConfigModule } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { CryptoModule } from "../crypto/crypto.module";
import { DatabaseModule } from "../database/database.module";
import { MaintenanceCoreModule } from "../maintenance/maintenance-core.module";
import { MetricsModule } from "../metrics/metrics.module";
import { ProvidersModule } from "../providers/providers.module";
import { KeyRotationService } from "./key-rotation.service";

/**
 * Modules of the command-line tool: the database, the secrets, the client, provider and user services, and the
 * maintenance jobs and database health report without their schedule.
 */
@Module({})
export class CliModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        CryptoModule,
        AuthCoreModule,
        ClientsModule,
        ProvidersModule,
        MetricsModule,
        MaintenanceCoreModule,
      ],
      providers: [KeyRotationService],
    };
  }
}
