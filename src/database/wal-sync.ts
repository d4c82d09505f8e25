import { promises as fs, statSync } from "node:fs";

/**
 * Makes SQLite commits durable by fsyncing the write-ahead log from outside SQLite. Transactions commit with
 * `synchronous=NORMAL`, which writes their WAL frames without syncing and releases the write lock at once;
 * a caller that needs durability then awaits {@link sync}, which fsyncs the WAL file and so every frame
 * written before it. The next writer never waits for the disk, and one fsync serves every commit that
 * finished before it began.
 *
 * A checkpoint under NORMAL syncs the WAL before copying it into the database and syncs the database after,
 * so frames that a checkpoint moved out of the WAL are durable too.
 */
export class WalSync {
  private handle: fs.FileHandle | null = null;
  private inode = -1;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(private readonly walPath: string) {}

  /** Resolves once every commit that finished before this call is on disk. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.fsyncOnce().finally(() => {
        this.running = null;
      });
      return this.running;
    }

    // A sync already running may have started before the caller's commit, so it joins the one after it.
    this.next ??= this.running.then(() => {
      this.next = null;
      return this.sync();
    });
    return this.next;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = null;
  }

  /**
   * Syncs the WAL's data, as SQLite does itself on Linux: `fdatasync` also writes the file size when it grew, which
   * is all the metadata a reader needs.
   */
  private async fsyncOnce(): Promise<void> {
    const handle = await this.open();
    await handle.datasync();
  }

  /**
   * Opens the WAL once, and again if SQLite has replaced the file since. The check is a synchronous `stat`, a few
   * microseconds on the calling thread, which costs less than a round trip through the thread pool.
   */
  private async open(): Promise<fs.FileHandle> {
    const current = statSync(this.walPath);
    if (this.handle && current.ino === this.inode) {
      return this.handle;
    }

    await this.handle?.close();
    this.handle = await fs.open(this.walPath, "r");
    this.inode = (await this.handle.stat()).ino;
    return this.handle;
  }
}
