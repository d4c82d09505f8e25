import { DynamicModule, Module } from "@nestjs/common";

import { ClientsModule } from "../clients/clients.module";
import { ConfigModule } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { CryptoModule } from "../crypto/crypto.module";
import { DatabaseModule } from "../database/database.module";
import { ProvidersModule } from "../providers/providers.module";
import { KeyRotationService } from "./key-rotation.service";

/** What the command-line tool needs: the database, the secrets and the client and provider services. */
@Module({})
export class CliModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        CryptoModule,
        ClientsModule,
        ProvidersModule,
      ],
      providers: [KeyRotationService],
    };
  }
}
