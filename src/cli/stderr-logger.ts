import { ConsoleLogger, LogLevel } from "@nestjs/common";

/**
 * Nest's console logger with every level written to stderr, so that a command's stdout carries only its
 * result and scripts can parse it.
 */
export class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: "stdout" | "stderr",
    errorStack?: unknown,
  ): void {
    super.printMessages(messages, context, logLevel, "stderr", errorStack);
  }
}
