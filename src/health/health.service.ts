import { stat } from "node:fs/promises";
import { hostname } from "node:os";

import { Inject, Injectable, OnApplicationBootstrap } from "@nestjs/common";
import { MikroORM } from "@mikro-orm/core";

import { AccountingService } from "../billing/accounting.service";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { KeyRingService } from "../crypto/key-ring.service";
import {
  readTime,
  WriteTransactionRunner,
} from "../database/write-transaction";

export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; detail?: string }[];
}

/**
 * Readiness: the database takes a write, no migration is pending, every stored key id is in the key ring, the
 * SQLite file is the one opened, and every accounting record is in the database or the spool.
 */
@Injectable()
export class HealthService implements OnApplicationBootstrap {
  private readonly replica = `${hostname()}:${process.pid}`;
  private readonly sqlitePath: string | null;
  private sqliteInode: number | null = null;

  constructor(
    private readonly orm: MikroORM,
    private readonly db: WriteTransactionRunner,
    private readonly keyRing: KeyRingService,
    private readonly accounting: AccountingService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.sqlitePath = config.database.url ? null : config.database.sqlitePath;
  }

  /** Remembers which file the server opened, so a later swap is noticed. */
  async onApplicationBootstrap(): Promise<void> {
    await this.databaseFileInPlace();
  }

  async readiness(): Promise<ReadinessReport> {
    const checks = await Promise.all([
      this.check("database", () => this.writeAndReadBack()),
      this.check("migrations", () => this.migrationsCurrent()),
      this.check("key_ring", () => this.keysAvailable()),
      this.check("database_file", () => this.databaseFileInPlace()),
      this.check("accounting_records", () => this.recordsKept()),
    ]);

    return { ready: checks.every((check) => check.ok), checks };
  }

  private async recordsKept(): Promise<string | null> {
    const held = this.accounting.strandedCount();
    return held === 0
      ? null
      : `${held} accounting records are held in memory because neither the database nor the spool takes them`;
  }

  private async check(name: string, probe: () => Promise<string | null>) {
    try {
      const problem = await probe();
      return problem === null
        ? { name, ok: true }
        : { name, ok: false, detail: problem };
    } catch (error) {
      return {
        name,
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      };
    }
  }

  private async writeAndReadBack(): Promise<string | null> {
    const now = new Date();
    await this.db.run(async (tx) => {
      await tx.run(
        `insert into health_probes (replica, checked_at) values (?, ?)
         on conflict (replica) do update set checked_at = excluded.checked_at`,
        [this.replica, tx.time(now)],
      );
    });

    const rows = await this.db.read<{ checked_at: number | string | Date }>(
      `select checked_at from health_probes where replica = ?`,
      [this.replica],
    );
    const stored = rows[0] ? readTime(rows[0].checked_at) : null;

    return stored?.getTime() === now.getTime()
      ? null
      : "the probe row read back differs from what was written";
  }

  /**
   * On SQLite, checks that the database file is still the one opened at start-up. A file deleted or replaced
   * under a running server would take every write made since with it at the next restart.
   */
  private async databaseFileInPlace(): Promise<string | null> {
    if (!this.sqlitePath) {
      return null;
    }

    const inode = await stat(this.sqlitePath).then(
      (info) => info.ino,
      () => null,
    );
    this.sqliteInode ??= inode;
    if (inode === null || inode !== this.sqliteInode) {
      return `${this.sqlitePath} was deleted or replaced while the server ran; restart it once the file is restored`;
    }
    return null;
  }

  private async migrationsCurrent(): Promise<string | null> {
    const pending = await this.orm.getMigrator().getPendingMigrations();
    return pending.length === 0 ? null : `${pending.length} migrations pending`;
  }

  private async keysAvailable(): Promise<string | null> {
    const rows = await this.db.read<{ key_id: string }>(
      `select distinct api_key_key_id as key_id from providers where api_key_key_id is not null`,
    );
    const missing: string[] = [];
    for (const { key_id: keyId } of rows) {
      if (!(await this.keyRing.ensure(keyId))) {
        missing.push(keyId);
      }
    }

    return missing.length === 0
      ? null
      : `provider keys sealed with key ids missing from the key ring: ${missing.join(", ")}`;
  }
}
