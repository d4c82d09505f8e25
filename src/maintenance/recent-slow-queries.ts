import { Injectable } from "@nestjs/common";

/** Slow statements kept for the health report; older ones are dropped. */
const KEPT = 50;

/** A statement slower than `database.slowQueryMs`, with its literal values replaced by `?`. */
export interface SlowQuery {
  /** When the statement finished, ISO 8601. */
  at: string;
  durationMs: number;
  sql: string;
}

/** The last slow statements this process saw, newest first, for the database health report. */
@Injectable()
export class RecentSlowQueries {
  private readonly entries: SlowQuery[] = [];

  add(entry: SlowQuery): void {
    this.entries.unshift(entry);
    if (this.entries.length > KEPT) {
      this.entries.pop();
    }
  }

  list(): SlowQuery[] {
    return [...this.entries];
  }
}
