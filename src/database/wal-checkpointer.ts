import { Worker } from "node:worker_threads";

import { Logger } from "@nestjs/common";

/** How often the worker copies the write-ahead log into the database file, in milliseconds. */
const CHECKPOINT_INTERVAL_MS = 500;

/**
 * The worker's code. A PASSIVE checkpoint copies what no reader still needs and never waits for a lock, so it
 * runs beside the writer; under `synchronous=NORMAL` it syncs the WAL before copying and the database after.
 */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
db.pragma("synchronous = NORMAL");
setInterval(() => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch {
    // A busy or locked database is checkpointed on the next tick.
  }
}, workerData.intervalMs);
`;

/**
 * Checkpoints a SQLite database in WAL mode from a worker thread. better-sqlite3 runs statements on the calling
 * thread, so SQLite's automatic checkpoint (every 1000 WAL pages, inside a commit) would stop the event loop for
 * as long as it copies pages and syncs the file, tens of milliseconds on a slow disk. The server's connections
 * turn the automatic checkpoint off (`wal_autocheckpoint = 0`) and this worker does the work instead.
 */
export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(path: string) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve("better-sqlite3"),
        path,
        intervalMs: CHECKPOINT_INTERVAL_MS,
      },
    });
    this.worker.unref();
    // NOTE: nothing restarts a failed worker; the WAL then grows until the analyze job's TRUNCATE checkpoint.
    this.worker.on("error", (error) =>
      new Logger(WalCheckpointer.name).error({
        msg: "WAL checkpointer stopped",
        path,
        err: error,
      }),
    );
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
