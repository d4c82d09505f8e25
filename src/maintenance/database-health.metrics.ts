import { Injectable, Logger } from "@nestjs/common";
import { Gauge } from "prom-client";

import { MetricsService } from "../metrics/metrics.service";
import {
  DatabaseHealthService,
  TableHealth,
  WalHealth,
} from "./database-health.service";

/** How long a reading is reused between scrapes, in milliseconds; counting rows is too slow for every scrape. */
const READING_TTL_MS = 60_000;

interface Reading {
  takenAt: number;
  tables: TableHealth[];
  wal: WalHealth;
}

/**
 * Prometheus gauges for the rows of each project table and the size of the write-ahead log. Values are read at
 * scrape time and reused for a minute, so frequent scrapes do not count large tables again each time.
 */
@Injectable()
export class DatabaseHealthMetrics {
  private readonly logger = new Logger(DatabaseHealthMetrics.name);
  private reading: Reading | null = null;
  private pending: Promise<Reading | null> | null = null;

  constructor(
    private readonly health: DatabaseHealthService,
    metrics: MetricsService,
  ) {
    const read = () => this.read();

    new Gauge({
      name: "llmp_db_table_rows",
      help: "Rows per table; PostgreSQL tables above 100000 rows report the planner's estimate. Refreshed at most once a minute",
      labelNames: ["table"],
      registers: [metrics.registry],
      async collect() {
        const reading = await read();
        for (const table of reading?.tables ?? []) {
          this.set({ table: table.table }, table.rows);
        }
      },
    });

    new Gauge({
      name: "llmp_db_wal_bytes",
      help: "Size of the write-ahead log in bytes (SQLite -wal file, PostgreSQL pg_wal); absent when not readable",
      registers: [metrics.registry],
      async collect() {
        const bytes = (await read())?.wal.bytes;
        if (bytes !== null && bytes !== undefined) {
          this.set(bytes);
        }
      },
    });
  }

  /** Returns the latest reading, taken again when older than a minute; null when the database was never read. */
  private read(): Promise<Reading | null> {
    if (this.reading && Date.now() - this.reading.takenAt < READING_TTL_MS) {
      return Promise.resolve(this.reading);
    }

    this.pending ??= this.takeReading().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async takeReading(): Promise<Reading | null> {
    try {
      this.reading = {
        takenAt: Date.now(),
        tables: await this.health.tables(),
        wal: await this.health.wal(),
      };
    } catch (error) {
      this.logger.warn({
        msg: "could not read database health for metrics",
        err: error,
      });
    }
    return this.reading;
  }
}
