import { Inject, Injectable, Logger } from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { BatchOutcome, CallBatcher } from "../database/call-batcher";
import {
  SqlTransaction,
  WriteTransactionRunner,
} from "../database/write-transaction";
import {
  ClientHold,
  clientSpendAssignments,
  readClientLimitState,
  releaseClientHolds,
  takeClientHolds,
} from "../limits/client-holds";
import {
  exceededLimits,
  LimitDemand,
  rateLimitSnapshot,
  reportedLimit,
} from "../limits/limit-state";
import { limitPeriods, LimitPeriods } from "../limits/periods";
import { MetricsService } from "../metrics/metrics.service";
import type { AdmissionOutcome } from "./accounting.service";
import { BalanceTransactionKind } from "./entities/balance-transaction.entity";
import { ReservationStatus } from "./entities/credit-reservation.entity";
import { RequestStatus } from "./entities/llm-request.entity";
import { Nanos } from "./money";
import { RequestRecord } from "./request-record";

/**
 * Settlements are acknowledged only once durable. Admissions and voids need not be: losing one to a power
 * failure loses nothing acknowledged, because the request it belongs to dies with the process, and any later
 * durable commit makes them durable too.
 */
const DURABLE = { durable: true };
const NOT_YET_DURABLE = { durable: false };

/**
 * PostgreSQL admission and settlement batches: at most 64 requests a call, and two calls at once, so one batch runs
 * while the previous one waits for its WAL flush.
 */
const POSTGRES_BATCHES = { maxBatch: 64, maxInFlight: 2 };

/** One request as the PostgreSQL functions read it: snake_case keys, bigints as decimal text. */
type FunctionArgument = Record<string, string | number | boolean | null>;

/** Thrown inside the transaction to roll it back when the record was already written. */
class AlreadyRecorded extends Error {}

/** Outcome of a settlement and the part of its cost the prepaid balance could not cover, in nano-dollars. */
export interface SettleResult {
  outcome: "recorded" | "duplicate";
  shortfall: Nanos;
}

export interface Admission extends LimitDemand {
  requestId: string;
  providerId: number;
  clientId: number;
  /** Nano-dollars to hold on the provider's credit; zero for postpaid providers. */
  amount: Nanos;
  prepaid: boolean;
  expiresAt: Date;
  /** The admission time: it picks the rate window, day and month the request counts in. */
  now: Date;
  /** False when the client has no limits: its row is not touched and the reservation holds nothing on it. */
  holdClientLimits?: boolean;
}

/** A pending reservation that settlement, void or the sweeper closed: what it held on the provider and the client. */
interface ClosedReservation extends ClientHold {
  providerId: number;
  /** Nano-dollars held on the provider's credit. */
  amount: Nanos;
}

/**
 * How often admission tries the client update again when it failed but no limit looks exceeded on a fresh read.
 * That happens on PostgreSQL when a request of the same client settled between the two statements.
 */
const LIMIT_CHECK_ATTEMPTS = 3;

/**
 * The SQL of admission and settlement. Every statement is a conditional update or an insert guarded by a unique
 * key, so concurrent requests, replicas and replays cannot overdraw a balance, exceed a client limit or write a
 * record twice. Rows are locked in one order, reservation then provider then client then rollup, and rows of one
 * table by key, so PostgreSQL transactions that keep this order cannot deadlock with each other.
 */
/** The hold of a client without limits: nothing, which settlement, void and the sweeper release as nothing. */
const NO_CLIENT_HOLD = (admission: Admission): ClientHold => ({
  clientId: admission.clientId,
  budgetDay: null,
  budgetMonth: null,
  budgetHeld: 0n,
  rateWindow: null,
  tokensHeld: 0,
});

@Injectable()
export class AccountingStore {
  private readonly timeZone: string;
  private readonly admissions: CallBatcher<FunctionArgument, string>;
  private readonly settlements: CallBatcher<FunctionArgument, SettleResult>;
  private readonly logger = new Logger(AccountingStore.name);

  constructor(
    private readonly transactions: WriteTransactionRunner,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.timeZone = config.limits.timeZone;
    this.admissions = new CallBatcher(
      (calls) => this.admitBatchOnPostgres(calls),
      {
        ...POSTGRES_BATCHES,
        onCallFailed: (error, items) =>
          this.batchFailed("admission", error, items),
      },
    );
    this.settlements = new CallBatcher(
      (calls) => this.settleBatchOnPostgres(calls),
      {
        ...POSTGRES_BATCHES,
        onCallFailed: (error, items) =>
          this.batchFailed("settlement", error, items),
      },
    );
  }

  /** Counts and logs a batch that failed as a whole; its requests are then retried one by one. */
  private batchFailed(
    kind: "admission" | "settlement",
    error: unknown,
    calls: FunctionArgument[],
  ): void {
    this.metrics.observeBatchRetried(kind);
    this.logger.warn({
      msg: `a PostgreSQL ${kind} batch failed; retrying its requests one by one`,
      requestIds: calls.map((call) => call.request_id),
      err: error,
    });
  }

  /**
   * Holds credit on a prepaid provider, takes the client's holds against its limits and claims the request id, in
   * one transaction. Nothing is written unless all three succeed.
   */
  async admit(admission: Admission): Promise<AdmissionOutcome> {
    if (this.transactions.postgres && admission.holdClientLimits === false) {
      return this.admitUnlimitedOnPostgres(admission);
    }
    const periods = limitPeriods(admission.now, this.timeZone);

    return this.transactions
      .runGrouped(async (tx): Promise<AdmissionOutcome> => {
        if (tx.forUpdate) {
          // A reused request id waits here for a settlement of that id, before taking the provider's row it needs.
          await tx.all(
            `select request_id from credit_reservations where request_id = ?${tx.forUpdate}`,
            [admission.requestId],
          );
        }
        if (admission.prepaid) {
          const held = await tx.run(
            `update providers set credit_reserved = credit_reserved + cast(? as bigint)
           where id = ? and credit_balance - credit_reserved >= cast(? as bigint)`,
            [admission.amount, admission.providerId, admission.amount],
          );
          if (held === 0) {
            return { outcome: "insufficient_credit" };
          }
        }

        if (admission.holdClientLimits === false) {
          await this.claimRequestId(tx, admission, NO_CLIENT_HOLD(admission));
          return { outcome: "admitted", rateLimits: null };
        }

        const state = await this.holdClientLimits(tx, admission, periods);
        await this.claimRequestId(tx, admission, {
          clientId: admission.clientId,
          budgetDay: state.budgetDay,
          budgetMonth: state.budgetMonth,
          budgetHeld: admission.worstCase,
          rateWindow: state.rateWindow,
          tokensHeld: admission.worstCaseTokens,
        });

        return {
          outcome: "admitted",
          rateLimits: rateLimitSnapshot(state, admission.now),
        };
      }, NOT_YET_DURABLE)
      .catch((error: unknown) => {
        if (error instanceof DuplicateAdmission) {
          return { outcome: "duplicate_request_id" } as const;
        }
        if (error instanceof LimitReached) {
          return error.outcome;
        }
        throw error;
      });
  }

  /**
   * PostgreSQL admission of a client without limits: the request joins the next call of `llmp_admit_batch`, which
   * runs the provider hold and the claim of the request id that {@link admit} runs statement by statement, for every
   * request of the batch in one transaction.
   */
  private async admitUnlimitedOnPostgres(
    admission: Admission,
  ): Promise<AdmissionOutcome> {
    const outcome = await this.admissions.submit({
      request_id: admission.requestId,
      provider_id: admission.providerId,
      client_id: admission.clientId,
      amount: admission.amount.toString(),
      prepaid: admission.prepaid,
      expires_at: admission.expiresAt.toISOString(),
      now: admission.now.toISOString(),
    });
    switch (outcome) {
      case "admitted":
        return { outcome: "admitted", rateLimits: null };
      case "insufficient_credit":
        return { outcome: "insufficient_credit" };
      case "duplicate":
        return { outcome: "duplicate_request_id" };
      default:
        throw new Error(
          `llmp_admit_batch returned an invalid outcome: ${outcome}`,
        );
    }
  }

  /** Admits a batch in one call that need not be durable; see {@link admitUnlimitedOnPostgres}. */
  private async admitBatchOnPostgres(
    calls: FunctionArgument[],
  ): Promise<BatchOutcome<string>[]> {
    if (calls.length === 1) {
      return [{ ok: true, value: await this.admitOneOnPostgres(calls[0]) }];
    }

    const [row] = await this.transactions.commitAlone<{ results: string[] }>(
      "select llmp_admit_batch(?, cast(? as jsonb)) as results",
      [JSON.stringify(calls)],
      NOT_YET_DURABLE,
    );
    return row.results.map((value) => ({ ok: true, value }));
  }

  /** Admits one request through `llmp_admit_unlimited`, which does less work on the server than a batch of one. */
  private async admitOneOnPostgres(call: FunctionArgument): Promise<string> {
    try {
      const [row] = await this.transactions.commitAlone<{ admitted: boolean }>(
        "select llmp_admit_unlimited(?, cast(? as jsonb)) as admitted",
        [JSON.stringify(call)],
        NOT_YET_DURABLE,
      );
      return row.admitted ? "admitted" : "insufficient_credit";
    } catch (error) {
      if (isAlreadyRecordedOnPostgres(error)) {
        return "duplicate";
      }
      throw error;
    }
  }

  /**
   * Takes the client's holds, or throws {@link LimitReached} with the limit to report, which rolls back the
   * provider hold too. The reason is read after the update failed; a failed update whose reason is gone by then
   * (a request of the client settled meanwhile) is tried again.
   */
  private async holdClientLimits(
    tx: SqlTransaction,
    admission: Admission,
    periods: LimitPeriods,
  ) {
    for (let attempt = 1; ; attempt++) {
      const taken = await takeClientHolds(
        tx,
        admission.clientId,
        admission,
        periods,
      );
      if (taken) {
        return taken;
      }

      const state = await readClientLimitState(tx, admission.clientId);
      if (!state) {
        throw new Error(`client ${admission.clientId} does not exist`);
      }
      const limit = reportedLimit(
        exceededLimits(state, admission, periods, admission.now, this.timeZone),
      );
      if (limit) {
        throw new LimitReached({
          outcome: "limited",
          limit: limit.limit,
          retryAfterSeconds: limit.retryAfterSeconds,
          rateLimits: rateLimitSnapshot(state, admission.now),
        });
      }
      if (attempt >= LIMIT_CHECK_ATTEMPTS) {
        throw new Error(
          `client ${admission.clientId}: the limit update failed ${attempt} times without an exceeded limit`,
        );
      }
    }
  }

  /**
   * Inserts the pending reservation, which claims the request id. A reused request id is refused with
   * {@link DuplicateAdmission}, except when its earlier reservation was voided because the request never reached a
   * provider: nothing was recorded, so the id is free to try again.
   *
   * NOTE: a reservation the sweeper voided because its hold expired frees the id in the same way, although its
   * request may still be running. A reuse admitted then is forwarded, and the settlement that comes second is
   * counted as a duplicate, so one of the two provider calls is not charged.
   */
  private async claimRequestId(
    tx: SqlTransaction,
    admission: Admission,
    hold: ClientHold,
  ): Promise<void> {
    const claimed = await tx.run(
      `insert into credit_reservations (request_id, provider_id, client_id, amount, budget_day, budget_month,
         budget_held, rate_window, tokens_held, status, expires_at, created_at)
       values (?, ?, ?, cast(? as bigint), ?, ?, cast(? as bigint), cast(? as bigint), cast(? as bigint), ?, ?, ?)
       on conflict (request_id) do update set provider_id = excluded.provider_id,
         client_id = excluded.client_id, amount = excluded.amount, budget_day = excluded.budget_day,
         budget_month = excluded.budget_month, budget_held = excluded.budget_held,
         rate_window = excluded.rate_window, tokens_held = excluded.tokens_held, status = excluded.status,
         expires_at = excluded.expires_at, created_at = excluded.created_at, settled_at = null
       where credit_reservations.status = ?
         and not exists (select 1 from llm_requests r where r.request_id = excluded.request_id)`,
      [
        admission.requestId,
        admission.providerId,
        admission.clientId,
        admission.amount,
        hold.budgetDay,
        hold.budgetMonth,
        hold.budgetHeld,
        hold.rateWindow,
        hold.tokensHeld,
        ReservationStatus.Pending,
        tx.time(admission.expiresAt),
        tx.time(admission.now),
        ReservationStatus.Voided,
      ],
    );
    if (claimed === 0) {
      throw new DuplicateAdmission();
    }
  }

  /**
   * Pushes back the expiry of still-pending reservations, so the sweeper leaves the holds of long streams alone
   * while the process that owns them is alive. Returns how many it extended.
   */
  async renew(requestIds: string[], expiresAt: Date): Promise<number> {
    if (requestIds.length === 0) {
      return 0;
    }

    const list = requestIds.map(() => "?").join(", ");
    return this.transactions.runGrouped(async (tx) => {
      if (tx.forUpdate) {
        // Locked in request id order first, as settlement batches lock them, so neither waits in a cycle.
        await tx.all(
          `select request_id from credit_reservations where request_id in (${list})
           order by request_id${tx.forUpdate}`,
          requestIds,
        );
      }
      return tx.run(
        `update credit_reservations set expires_at = ?
         where status = ? and request_id in (${list})`,
        [tx.time(expiresAt), ReservationStatus.Pending, ...requestIds],
      );
    }, NOT_YET_DURABLE);
  }

  /**
   * Releases the holds of a request that never reached its provider, or whose reservation expired: the provider
   * credit and the client's holds. Returns false when nothing was pending, so a second void releases nothing.
   */
  async void(requestId: string, now: Date): Promise<boolean> {
    return this.transactions.runGrouped(async (tx) => {
      const closed = await this.closeReservation(
        tx,
        requestId,
        ReservationStatus.Voided,
        now,
      );
      if (closed === null) {
        return false;
      }

      if (closed.amount > 0n) {
        await tx.run(
          `update providers set credit_reserved = credit_reserved - cast(? as bigint) where id = ?`,
          [closed.amount, closed.providerId],
        );
      }
      await releaseClientHolds(tx, closed, 0);
      return true;
    }, NOT_YET_DURABLE);
  }

  /**
   * Writes the request row, the client totals and budget spend, the daily rollup and, for prepaid providers, the
   * debit with its ledger entry, and releases the request's holds, in one transaction. Returns `duplicate` without
   * changing anything when the request id was already recorded.
   */
  async settle(record: RequestRecord): Promise<SettleResult> {
    if (this.transactions.postgres) {
      return this.settleOnPostgres(record);
    }

    try {
      const shortfall = await this.transactions.runGrouped(async (tx) => {
        const closed = await this.closeReservation(
          tx,
          record.requestId,
          ReservationStatus.Posted,
          new Date(),
        );
        const shortfall = record.prepaid
          ? await this.debitProvider(tx, record, closed?.amount ?? 0n)
          : 0n;

        await this.insertRequest(tx, record, shortfall);
        if (closed) {
          const usage = record.usage;
          await releaseClientHolds(
            tx,
            closed,
            usage.promptTokens + usage.completionTokens,
          );
        }
        await this.addToClientTotals(tx, record);
        await this.addToDailyRollup(tx, record);
        return shortfall;
      }, DURABLE);
      return { outcome: "recorded", shortfall };
    } catch (error) {
      if (error instanceof AlreadyRecorded) {
        return { outcome: "duplicate", shortfall: 0n };
      }
      throw error;
    }
  }

  /**
   * PostgreSQL settlement: the record joins the next call of `llmp_settle_batch`, which runs the statements of
   * {@link settle} on the server for every record of the batch, in one transaction. Under load that shares the round
   * trip, the commit and the provider's row lock among the records that finished meanwhile. An idle process sends each
   * record on its own.
   */
  private async settleOnPostgres(record: RequestRecord): Promise<SettleResult> {
    return this.settlements.submit(this.settlementCall(record));
  }

  /**
   * Settles a batch in one durable call. A request that another transaction recorded meanwhile fails the whole call
   * with LPDUP, and the batcher then settles the records one by one.
   */
  private async settleBatchOnPostgres(
    calls: FunctionArgument[],
  ): Promise<BatchOutcome<SettleResult>[]> {
    if (calls.length === 1) {
      return [{ ok: true, value: await this.settleOneOnPostgres(calls[0]) }];
    }

    const [row] = await this.transactions.commitAlone<{ results: string[] }>(
      "select llmp_settle_batch(?, cast(? as jsonb)) as results",
      [JSON.stringify(calls)],
      DURABLE,
    );
    return row.results.map((result) => ({
      ok: true,
      value:
        result === "duplicate"
          ? { outcome: "duplicate", shortfall: 0n }
          : { outcome: "recorded", shortfall: BigInt(result) },
    }));
  }

  /** Settles one record through `llmp_settle`, which does less work on the server than a batch of one. */
  private async settleOneOnPostgres(
    call: FunctionArgument,
  ): Promise<SettleResult> {
    try {
      const [row] = await this.transactions.commitAlone<{ shortfall: string }>(
        "select cast(llmp_settle(?, cast(? as jsonb)) as text) as shortfall",
        [JSON.stringify(call)],
        DURABLE,
      );
      return { outcome: "recorded", shortfall: BigInt(row.shortfall) };
    } catch (error) {
      if (isAlreadyRecordedOnPostgres(error)) {
        return { outcome: "duplicate", shortfall: 0n };
      }
      throw error;
    }
  }

  /** Converts a record to the argument that `llmp_settle_batch` and `llmp_settle` read. */
  private settlementCall(record: RequestRecord): FunctionArgument {
    const usage = record.usage;
    const periods = limitPeriods(record.createdAt, this.timeZone);
    return {
      request_id: record.requestId,
      client_id: record.clientId,
      token_id: record.tokenId,
      provider_id: record.providerId,
      model_config_id: record.modelConfigId,
      model: record.model,
      endpoint: record.endpoint,
      status: record.status,
      error_class: record.errorClass,
      upstream_status: record.upstreamStatus,
      streamed: record.streamed,
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      cache_read_tokens: usage.cacheReadTokens,
      cache_write_tokens: usage.cacheWriteTokens,
      reasoning_tokens: usage.reasoningTokens,
      usage_estimated: record.usageEstimated,
      cost: record.cost.toString(),
      prepaid: record.prepaid,
      latency_ms: record.latencyMs,
      ttft_ms: record.ttftMs,
      created_at: record.createdAt.toISOString(),
      now: new Date().toISOString(),
      spend_day: periods.day,
      spend_month: periods.month,
      rollup_day: utcDay(record.createdAt),
    };
  }

  /**
   * Moves a pending reservation to its final state and returns what it held, or null when it was not pending. A
   * reservation that was already posted means the request was already recorded.
   */
  private async closeReservation(
    tx: SqlTransaction,
    requestId: string,
    status: ReservationStatus,
    now: Date,
  ): Promise<ClosedReservation | null> {
    const rows = await tx.all<Record<string, string | number | null>>(
      `update credit_reservations set status = ?, settled_at = ?
       where request_id = ? and status = ?
       returning provider_id, client_id, cast(amount as text) as amount, budget_day, budget_month,
         cast(budget_held as text) as budget_held, cast(rate_window as text) as rate_window,
         cast(tokens_held as text) as tokens_held`,
      [status, tx.time(now), requestId, ReservationStatus.Pending],
    );
    if (rows.length > 0) {
      return toClosedReservation(rows[0]);
    }

    if (status === ReservationStatus.Posted) {
      const existing = await tx.all<{ status: ReservationStatus }>(
        `select status from credit_reservations where request_id = ?`,
        [requestId],
      );
      if (existing[0]?.status === ReservationStatus.Posted) {
        throw new AlreadyRecorded();
      }
    }

    return null;
  }

  /**
   * Debits the cost from the balance and releases the hold. The debit never exceeds what this request held plus
   * the credit no other request holds, so the balance cannot go below zero; any remainder is returned as the shortfall.
   */
  private async debitProvider(
    tx: SqlTransaction,
    record: RequestRecord,
    held: Nanos,
  ): Promise<Nanos> {
    const rows = await tx.all<{
      balance: string | number;
      reserved: string | number;
    }>(
      `select cast(credit_balance as text) as balance, cast(credit_reserved as text) as reserved
       from providers where id = ?${tx.forUpdate}`,
      [record.providerId],
    );
    const balance = BigInt(rows[0].balance);
    const reserved = BigInt(rows[0].reserved);
    const releasable = held < reserved ? held : reserved;
    const available = balance - reserved + releasable;
    const debit = record.cost < available ? record.cost : available;
    const balanceAfter = balance - debit;

    await tx.run(
      `update providers set credit_balance = cast(? as bigint), credit_reserved = credit_reserved - cast(? as bigint)
       where id = ?`,
      [balanceAfter, releasable, record.providerId],
    );

    if (debit > 0n) {
      await tx.run(
        `insert into balance_transactions (provider_id, kind, amount, balance_after, request_id, created_at)
         values (?, ?, cast(? as bigint), cast(? as bigint), ?, ?)`,
        [
          record.providerId,
          BalanceTransactionKind.Debit,
          -debit,
          balanceAfter,
          record.requestId,
          tx.time(new Date()),
        ],
      );
    }

    return record.cost - debit;
  }

  private async insertRequest(
    tx: SqlTransaction,
    record: RequestRecord,
    shortfall: Nanos,
  ): Promise<void> {
    const usage = record.usage;
    const inserted = await tx.run(
      `insert into llm_requests (request_id, client_id, token_id, provider_id, model_config_id, model, endpoint,
         status, error_class, upstream_status, streamed, prompt_tokens, completion_tokens, cache_read_tokens,
         cache_write_tokens, reasoning_tokens, usage_estimated, cost, credit_shortfall, latency_ms, ttft_ms, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, cast(? as bigint), cast(? as bigint), ?, ?, ?)
       on conflict (request_id) do nothing`,
      [
        record.requestId,
        record.clientId,
        record.tokenId,
        record.providerId,
        record.modelConfigId,
        record.model,
        record.endpoint,
        record.status,
        record.errorClass,
        record.upstreamStatus,
        record.streamed,
        usage.promptTokens,
        usage.completionTokens,
        usage.cacheReadTokens,
        usage.cacheWriteTokens,
        usage.reasoningTokens,
        record.usageEstimated,
        record.cost,
        shortfall,
        record.latencyMs,
        record.ttftMs,
        tx.time(record.createdAt),
      ],
    );
    if (inserted === 0) {
      throw new AlreadyRecorded();
    }
  }

  /** Adds the request to the client's lifetime totals and its cost to the day's and month's budget spend. */
  private async addToClientTotals(
    tx: SqlTransaction,
    record: RequestRecord,
  ): Promise<void> {
    const usage = record.usage;
    const spend = clientSpendAssignments(
      record.cost,
      limitPeriods(record.createdAt, this.timeZone),
    );
    await tx.run(
      `update clients set total_requests = total_requests + 1, total_prompt_tokens = total_prompt_tokens + ?,
         total_completion_tokens = total_completion_tokens + ?, total_cached_tokens = total_cached_tokens + ?,
         total_reasoning_tokens = total_reasoning_tokens + ?, total_cost = total_cost + cast(? as bigint),
         ${spend.sql}
       where id = ?`,
      [
        usage.promptTokens,
        usage.completionTokens,
        usage.cacheReadTokens,
        usage.reasoningTokens,
        record.cost,
        ...spend.params,
        record.clientId,
      ],
    );
  }

  private async addToDailyRollup(
    tx: SqlTransaction,
    record: RequestRecord,
  ): Promise<void> {
    const usage = record.usage;
    const failed = record.status === RequestStatus.Completed ? 0 : 1;
    const estimated = record.usageEstimated ? 1 : 0;

    await tx.run(
      `insert into usage_daily (day, client_id, provider_id, model, requests, failed_requests, estimated_requests,
         prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost)
       values (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, cast(? as bigint))
       on conflict (day, client_id, provider_id, model) do update set
         requests = usage_daily.requests + 1,
         failed_requests = usage_daily.failed_requests + excluded.failed_requests,
         estimated_requests = usage_daily.estimated_requests + excluded.estimated_requests,
         prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
         completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
         cache_read_tokens = usage_daily.cache_read_tokens + excluded.cache_read_tokens,
         cache_write_tokens = usage_daily.cache_write_tokens + excluded.cache_write_tokens,
         reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens,
         cost = usage_daily.cost + excluded.cost`,
      [
        utcDay(record.createdAt),
        record.clientId,
        record.providerId,
        record.model,
        failed,
        estimated,
        usage.promptTokens,
        usage.completionTokens,
        usage.cacheReadTokens,
        usage.cacheWriteTokens,
        usage.reasoningTokens,
        record.cost,
      ],
    );
  }
}

class DuplicateAdmission extends Error {}

/** The SQLSTATE that the PostgreSQL functions raise for a request id already in use or recorded. */
const ALREADY_RECORDED_STATE = "LPDUP";

function isAlreadyRecordedOnPostgres(error: unknown): boolean {
  return (error as { code?: unknown })?.code === ALREADY_RECORDED_STATE;
}

/** Thrown inside the admission transaction to roll it back when a client limit rejects the request. */
class LimitReached extends Error {
  constructor(readonly outcome: AdmissionOutcome & { outcome: "limited" }) {
    super(`client limit reached: ${outcome.limit}`);
  }
}

function toClosedReservation(
  row: Record<string, string | number | null>,
): ClosedReservation {
  return {
    providerId: Number(row.provider_id),
    clientId: Number(row.client_id),
    amount: BigInt(row.amount ?? 0),
    budgetDay: row.budget_day === null ? null : String(row.budget_day),
    budgetMonth: row.budget_month === null ? null : String(row.budget_month),
    budgetHeld: BigInt(row.budget_held ?? 0),
    rateWindow: row.rate_window === null ? null : Number(row.rate_window),
    tokensHeld: Number(row.tokens_held ?? 0),
  };
}

/** Returns the UTC calendar day of a timestamp, as stored in `usage_daily.day`. */
export function utcDay(value: Date): string {
  return value.toISOString().slice(0, 10);
}
