import { Global, Module } from "@nestjs/common";

import { AppConfig } from "./config.schema";
import { loadConfig } from "./load-config";

/** Injection token for the validated {@link AppConfig}. */
export const APP_CONFIG = Symbol("APP_CONFIG");

@Global()
@Module({})
export class ConfigModule {
  /** Provides the given configuration, or the one loaded from files and the environment. */
  static forRoot(config: AppConfig = loadConfig()) {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
