import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  OnModuleInit,
} from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";
import { MikroOrmModule } from "@mikro-orm/nestjs";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { runMigrations } from "./migration-runner";
import { buildOrmOptions } from "./orm-options";
import { WriteTransactionRunner } from "./write-transaction";

/** Applies pending migrations before any other module touches the database. */
@Injectable()
class MigrateOnStart implements OnModuleInit {
  constructor(
    private readonly orm: MikroORM,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await runMigrations(this.orm, {
      backup: this.config.database.backupBeforeMigrate,
    });
  }
}

@Global()
@Module({})
export class DatabaseModule {
  /** Connects to the configured database; migrations run when the application initialises. */
  static forRoot(config: AppConfig): DynamicModule {
    const options = buildOrmOptions(config);

    return {
      module: DatabaseModule,
      imports: [
        MikroOrmModule.forRoot({ ...options, registerRequestContext: false }),
      ],
      providers: [MigrateOnStart, WriteTransactionRunner],
      exports: [WriteTransactionRunner],
    };
  }
}
