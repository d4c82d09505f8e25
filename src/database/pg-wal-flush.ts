/**
 * Makes PostgreSQL commits durable after the fact, so a transaction need not hold its row locks while the server
 * flushes its write-ahead log. Transactions commit with `synchronous_commit = off`, which releases their locks as
 * soon as the commit record is written; a caller that needs durability then awaits {@link flush}.
 *
 * A flush is one statement in a transaction of its own that writes a WAL record and commits synchronously:
 * `pg_logical_emit_message` with `transactional = true` (a no-op for anyone not decoding the log, and allowed to
 * every role). Its commit flushes the WAL up to its own record, and so every commit that came before it. One flush
 * serves every caller that committed before it began, which is group commit for rows locked in any order: each
 * transaction still commits alone, only the disk sync is shared.
 */
export class PgWalFlush {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  /** @param barrier runs the flushing statement on a connection of the pool. */
  constructor(private readonly barrier: () => Promise<void>) {}

  /** Resolves once every commit that finished before this call is on the server's disk. */
  flush(): Promise<void> {
    if (!this.running) {
      this.running = this.barrier().finally(() => {
        this.running = null;
      });
      return this.running;
    }

    // A flush already running may have begun before the caller's commit, so it joins the one after it.
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.flush();
      });
    return this.next;
  }
}

/** The flushing statement: one autocommit transaction, so a single round trip writes, commits and syncs. */
export const PG_WAL_FLUSH_SQL =
  "select pg_logical_emit_message(true, 'llm-proxy', 'flush')";

/** SQLSTATEs meaning the server cannot run the flushing statement: undefined function, insufficient privilege. */
const PG_WAL_FLUSH_UNAVAILABLE = new Set(["42883", "42501"]);

/** Returns whether `error` means the server cannot run the flushing statement, as opposed to an outage. */
export function isPgFlushUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && PG_WAL_FLUSH_UNAVAILABLE.has(code);
}
