import { Injectable } from "@nestjs/common";

import { decodeCursor, Page, toPage } from "../common/pagination";
import {
  readTime,
  SqlParam,
  WriteTransactionRunner,
} from "../database/write-transaction";
import { BalanceTransactionKind } from "./entities/balance-transaction.entity";
import { Nanos } from "./money";

export interface LedgerFilter {
  providerId?: number;
  kind?: BalanceTransactionKind;
  /** Inclusive lower bound of `createdAt`. */
  from?: Date;
  /** Exclusive upper bound of `createdAt`. */
  to?: Date;
  cursor?: string;
  limit: number;
}

export interface LedgerEntry {
  id: number;
  providerId: number;
  kind: BalanceTransactionKind;
  /** Signed nano-dollars. */
  amount: Nanos;
  balanceAfter: Nanos;
  requestId: string | null;
  actor: string | null;
  note: string | null;
  createdAt: Date;
}

interface LedgerRow {
  id: number | string;
  provider_id: number | string;
  kind: BalanceTransactionKind;
  amount: string;
  balance_after: string;
  request_id: string | null;
  actor: string | null;
  note: string | null;
  created_at: number | string | Date;
}

/** Reads the ledger of prepaid balances, newest entry first. */
@Injectable()
export class LedgerService {
  constructor(private readonly db: WriteTransactionRunner) {}

  async list(filter: LedgerFilter): Promise<Page<LedgerEntry>> {
    const conditions: string[] = [];
    const params: SqlParam[] = [];
    const add = (condition: string, value: SqlParam) => {
      conditions.push(condition);
      params.push(value);
    };
    if (filter.providerId !== undefined)
      add("provider_id = ?", filter.providerId);
    if (filter.kind !== undefined) add("kind = ?", filter.kind);
    if (filter.from) add("created_at >= ?", this.db.time(filter.from));
    if (filter.to) add("created_at < ?", this.db.time(filter.to));
    if (filter.cursor) add("id < ?", decodeCursor(filter.cursor).id);

    const rows = await this.db.read<LedgerRow>(
      `select id, provider_id, kind, cast(amount as text) as amount, cast(balance_after as text) as balance_after,
         request_id, actor, note, created_at
       from balance_transactions ${conditions.length ? `where ${conditions.join(" and ")}` : ""}
       order by id desc limit ?`,
      [...params, filter.limit + 1],
    );
    return toPage(rows.map(toEntry), filter.limit, (entry) => ({
      id: entry.id,
    }));
  }
}

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    id: Number(row.id),
    providerId: Number(row.provider_id),
    kind: row.kind,
    amount: BigInt(row.amount),
    balanceAfter: BigInt(row.balance_after),
    requestId: row.request_id,
    actor: row.actor,
    note: row.note,
    createdAt: readTime(row.created_at),
  };
}
