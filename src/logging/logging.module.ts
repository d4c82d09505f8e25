import { DynamicModule, Module } from "@nestjs/common";
import { LoggerModule } from "nestjs-pino";
import { Logger } from "pino";

/**
 * Structured JSON logs through pino, for Nest's logger and every module's. Lines logged while a request is served
 * go through that request's child logger (see request-logging.ts), so they carry its request id. Outside requests
 * they go through the root logger. Headers are never logged, and secret-looking keys are redacted.
 */
@Module({})
export class LoggingModule {
  static forRoot(root: Logger): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        // `useExisting` takes each request's logger from the raw request instead of creating two children per
        // request through pino-http, which cost more than the rest of the logging together.
        LoggerModule.forRoot({ pinoHttp: { logger: root }, useExisting: true }),
      ],
    };
  }
}
