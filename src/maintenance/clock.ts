import { Injectable } from "@nestjs/common";

/**
 * The current time for maintenance work: run timestamps, lease expiry and retention cutoffs. Injected so tests
 * can move time; the cron schedule itself follows the system clock.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
