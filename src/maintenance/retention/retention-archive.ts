import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * One retention run's archive: a gzip-compressed JSON Lines file, one line per deleted row, `{"table", "row"}`.
 * Each batch is appended as its own gzip member and synced before the caller deletes it, so every deleted row is
 * on disk first. `gunzip`, `zcat` and Node's zlib read the members as one stream.
 *
 * If the process dies during an append, the last member is cut short. Its rows were not deleted, so the next run
 * archives them again in its own file, and a row can therefore appear in two files, with the same `request_id`.
 */
export class RetentionArchive {
  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Creates the run's file (mode 0600) in `folder` (created with mode 0700 when missing). */
  static create(
    folder: string,
    runId: number,
    startedAt: Date,
  ): RetentionArchive {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    const path = join(folder, `retention-${stamp}-run${runId}.jsonl.gz`);
    const fd = openSync(path, "wx", 0o600);
    syncFolder(folder);
    return new RetentionArchive(path, fd);
  }

  /** Appends rows of one table and returns once they are synced to disk. */
  append(table: string, rows: Record<string, unknown>[]): void {
    const lines = rows
      .map((row) => `${JSON.stringify({ table, row })}\n`)
      .join("");
    const member = gzipSync(lines);

    let written = 0;
    while (written < member.length) {
      written += writeSync(this.fd, member, written);
    }
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Makes the new file's directory entry durable. */
function syncFolder(folder: string): void {
  const fd = openSync(folder, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
