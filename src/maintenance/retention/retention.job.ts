import { Inject, Injectable, Logger } from "@nestjs/common";

import { ReservationStatus } from "../../billing/entities/credit-reservation.entity";
import { APP_CONFIG } from "../../config/config.module";
import { AppConfig } from "../../config/config.schema";
import {
  readTime,
  SqlParam,
  WriteTransactionRunner,
} from "../../database/write-transaction";
import { JobContext, JobResult, MaintenanceJob } from "../job";
import { RetentionArchive } from "./retention-archive";

const DAY_MS = 86_400_000;

type Row = Record<string, unknown> & { id: number };

/** A table retention deletes from: which rows are old, how to pick a batch, and how a row is archived. */
interface PurgedTable {
  name: string;
  /** Columns to read, with money as text so no bigint passes through a double. */
  columns: string;
  /** Condition for rows to delete, with its parameters. */
  old(cutoff: SqlParam): { where: string; params: SqlParam[] };
  order: string;
  toJson(row: Row): Record<string, unknown>;
}

const LLM_REQUESTS: PurgedTable = {
  name: "llm_requests",
  columns: `id, request_id, client_id, token_id, provider_id, model_config_id, model, endpoint, status, error_class,
    upstream_status, streamed, prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, usage_estimated, cast(cost as text) as cost, cast(credit_shortfall as text) as credit_shortfall,
    latency_ms, ttft_ms, created_at`,
  old: (cutoff) => ({ where: "created_at < ?", params: [cutoff] }),
  // Oldest first, along the created_at index, so a run stopped early has removed the oldest rows.
  order: "order by created_at, id",
  toJson: (row) => ({
    ...row,
    streamed: Boolean(row.streamed),
    usage_estimated: Boolean(row.usage_estimated),
    created_at: timestamp(row.created_at),
  }),
};

const CREDIT_RESERVATIONS: PurgedTable = {
  name: "credit_reservations",
  columns: `id, request_id, provider_id, client_id, cast(amount as text) as amount, status, expires_at, created_at,
    settled_at`,
  // Settled reservations whose hold expired before the cutoff, found through the (status, expires_at) index. A
  // pending one is never deleted: the sweeper voids it first and returns its hold to the provider.
  old: (cutoff) => ({
    where: "status in (?, ?) and expires_at < ?",
    params: [ReservationStatus.Posted, ReservationStatus.Voided, cutoff],
  }),
  order: "",
  toJson: (row) => ({
    ...row,
    expires_at: timestamp(row.expires_at),
    created_at: timestamp(row.created_at),
    settled_at: row.settled_at === null ? null : timestamp(row.settled_at),
  }),
};

/**
 * Deletes request rows older than `maintenance.retentionDays`, and settled credit reservations past the same
 * window, in batches of `maintenance.retentionBatchSize`, one short write transaction per batch, so metering waits
 * for at most one batch. The daily rollups, the ledger and the client totals are kept. With
 * `maintenance.archiveDir` set, each batch is archived and synced before it is deleted.
 *
 * Request ids are idempotency keys only while their rows exist: once retention deletes a request and its
 * reservation, the same id would be accepted again.
 */
@Injectable()
export class RetentionJob implements MaintenanceJob {
  readonly name = "retention" as const;
  private readonly logger = new Logger(RetentionJob.name);

  constructor(
    private readonly db: WriteTransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(context: JobContext): Promise<JobResult> {
    const settings = this.config.maintenance;
    const cutoff = new Date(
      context.startedAt.getTime() - settings.retentionDays * DAY_MS,
    );
    const archive = settings.archiveDir
      ? RetentionArchive.create(
          settings.archiveDir,
          context.runId,
          context.startedAt,
        )
      : null;
    const deleted: Record<string, number> = {};
    context.note("cutoff", cutoff.toISOString());
    context.note("deleted", deleted);
    context.note("archive", archive?.path ?? null);

    try {
      for (const table of [LLM_REQUESTS, CREDIT_RESERVATIONS]) {
        deleted[table.name] = 0;
        const done = await this.purge(
          table,
          cutoff,
          context,
          archive,
          (rows) => {
            deleted[table.name] += rows;
          },
        );
        if (!done) {
          return { complete: false };
        }
      }
      return { complete: true };
    } finally {
      archive?.close();
    }
  }

  /**
   * Deletes one table's old rows batch by batch; returns false when the run was stopped with old rows left. The
   * stop signal is checked after each batch, so even a budget shorter than one batch makes progress.
   */
  private async purge(
    table: PurgedTable,
    cutoff: Date,
    context: JobContext,
    archive: RetentionArchive | null,
    onDeleted: (rows: number) => void,
  ): Promise<boolean> {
    const batchSize = this.config.maintenance.retentionBatchSize;
    const old = table.old(this.db.time(cutoff));

    for (;;) {
      const rows = await this.db.read<Row>(
        `select ${table.columns} from ${table.name} where ${old.where} ${table.order} limit ?`,
        [...old.params, batchSize],
      );
      if (rows.length === 0) {
        return true;
      }

      archive?.append(
        table.name,
        rows.map((row) => table.toJson(row)),
      );

      const ids = rows.map((row) => row.id);
      const removed = await this.db.run((tx) =>
        tx.run(
          `delete from ${table.name} where id in (${ids.map(() => "?").join(", ")}) and ${old.where}`,
          [...ids, ...old.params],
        ),
      );
      onDeleted(removed);
      context.countRows(removed);
      this.logger.debug({
        msg: "retention deleted a batch",
        table: table.name,
        rows: removed,
        runId: context.runId,
      });

      if (rows.length < batchSize) {
        return true;
      }
      if (context.signal.aborted) {
        return false;
      }
    }
  }
}

function timestamp(value: unknown): string {
  return readTime(value as number | string | Date).toISOString();
}
