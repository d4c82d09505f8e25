import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";

import { Inject, Injectable, Logger } from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  deserializeRecord,
  RequestRecord,
  serializeRecord,
} from "./request-record";

const SUFFIX = ".json";

/**
 * A folder of accounting records that could not be written to the database yet, one file per request id. A
 * file is written to a temporary name, synced and renamed, so after a crash it is either whole or absent.
 */
@Injectable()
export class SpoolService {
  private readonly logger = new Logger(SpoolService.name);
  private readonly folder: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.folder = config.billing.spoolDir;
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
  }

  /** Stores a record durably; returns once it is synced to disk. */
  save(record: RequestRecord): void {
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    const target = this.pathOf(record.requestId);
    const temporary = `${target}.${process.pid}.tmp`;

    const fd = openSync(temporary, "w", 0o600);
    try {
      writeSync(fd, serializeRecord(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, target);
    this.syncFolder();
  }

  /** Request ids waiting in the spool, oldest file name order. */
  pending(): string[] {
    mkdirSync(this.folder, { recursive: true, mode: 0o700 });
    return readdirSync(this.folder)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => name.slice(0, -SUFFIX.length))
      .sort();
  }

  load(requestId: string): RequestRecord | null {
    try {
      return deserializeRecord(readFileSync(this.pathOf(requestId), "utf8"));
    } catch (error) {
      this.logger.error({
        msg: "unreadable spooled record left in place",
        requestId,
        err: error,
      });
      return null;
    }
  }

  /**
   * Moves a record the database rejected into `rejected/`, next to a file with the reason, for an operator to
   * inspect and replay by moving it back.
   */
  reject(requestId: string, reason: string): void {
    const folder = join(this.folder, "rejected");
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    renameSync(this.pathOf(requestId), join(folder, `${requestId}${SUFFIX}`));
    writeFileSync(join(folder, `${requestId}.reason.txt`), `${reason}\n`, {
      mode: 0o600,
    });
  }

  /** Number of records moved aside as rejected. */
  rejectedCount(): number {
    try {
      return readdirSync(join(this.folder, "rejected")).filter((name) =>
        name.endsWith(SUFFIX),
      ).length;
    } catch {
      return 0;
    }
  }

  remove(requestId: string): void {
    unlinkSync(this.pathOf(requestId));
  }

  private pathOf(requestId: string): string {
    return join(this.folder, `${requestId}${SUFFIX}`);
  }

  /** Makes the rename itself durable. */
  private syncFolder(): void {
    const fd = openSync(this.folder, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
