import { Migration } from "@mikro-orm/migrations";

import { ADMIT } from "./Migration20261219090000AccountingFunctions";

/*
 * Admission and settlement of several requests in one call and one transaction. Under load every admission and
 * settlement of a prepaid provider writes that provider's row, and one call per request cost each of them a round
 * trip, a commit and a turn at the row lock. A batch pays for those once.
 *
 * Concurrent batches, on one replica or several, lock rows in one order so they cannot deadlock: the reservations of
 * their request ids first, in request id order (as hold renewal does), then the providers in id order, then the
 * clients in id order. The daily rollup rows are written only under their client's lock.
 *
 * Each record gets the statements of `llmp_settle` in the same order and with the same arithmetic. A record whose
 * request id is already recorded, before this call or earlier in the same batch, changes nothing and reads
 * `duplicate` in the result. A request row inserted meanwhile by another transaction raises LPDUP and rolls the whole
 * batch back; the caller then settles each record on its own. A record that arrives alone still goes through
 * `llmp_settle`, which does less work than a batch of one.
 *
 * Returns one element per record, in order: the shortfall in nano-dollars as text, or `duplicate`.
 */
const SETTLE_BATCH = `
create function llmp_settle_batch(async_commit boolean, rs jsonb) returns text[]
language plpgsql as $$
declare
  r jsonb;
  rid text;
  closed_by_id jsonb;
  closed jsonb;
  existing_status text;
  held bigint;
  balance bigint;
  reserved bigint;
  releasable bigint;
  debit bigint;
  shortfall bigint;
  cost bigint;
  prompt bigint;
  completion bigint;
  spend_day varchar;
  spend_month varchar;
  results text[] := '{}';
begin
  if async_commit then
    perform set_config('synchronous_commit', 'off', true);
  end if;

  perform 1 from credit_reservations
    where request_id in (select x.r->>'request_id' from jsonb_array_elements(rs) x(r))
    order by request_id for update;

  with closed_rows as (
    update credit_reservations c set status = 'posted', settled_at = (x.r->>'now')::timestamptz
      from jsonb_array_elements(rs) x(r)
      where c.request_id = x.r->>'request_id' and c.status = 'pending'
      returning c.request_id, c.client_id, c.amount, c.budget_day, c.budget_month, c.budget_held, c.rate_window,
        c.tokens_held
  )
  select coalesce(jsonb_object_agg(closed_rows.request_id, to_jsonb(closed_rows)), '{}'::jsonb)
    into closed_by_id from closed_rows;

  perform 1 from providers
    where id in (select (x.r->>'provider_id')::int from jsonb_array_elements(rs) x(r) where (x.r->>'prepaid')::boolean)
    order by id for update;
  perform 1 from clients
    where id in (select (x.r->>'client_id')::int from jsonb_array_elements(rs) x(r)
      union select (c.value->>'client_id')::int from jsonb_each(closed_by_id) c)
    order by id for update;

  for r in select x.r from jsonb_array_elements(rs) x(r) loop
    rid := r->>'request_id';
    if exists (select 1 from llm_requests where request_id = rid) then
      results := results || 'duplicate'::text;
      continue;
    end if;

    closed := closed_by_id->rid;
    closed_by_id := closed_by_id - rid;
    if closed is null then
      existing_status := null;
      select status into existing_status from credit_reservations where request_id = rid;
      if existing_status = 'posted' then
        results := results || 'duplicate'::text;
        continue;
      end if;
    end if;

    held := coalesce((closed->>'amount')::bigint, 0);
    cost := (r->>'cost')::bigint;
    prompt := (r->>'prompt_tokens')::bigint;
    completion := (r->>'completion_tokens')::bigint;
    spend_day := r->>'spend_day';
    spend_month := r->>'spend_month';
    debit := 0;
    shortfall := 0;

    if (r->>'prepaid')::boolean then
      select credit_balance, credit_reserved into balance, reserved
        from providers where id = (r->>'provider_id')::int;
      releasable := least(held, reserved);
      debit := least(cost, balance - reserved + releasable);
      update providers set credit_balance = balance - debit, credit_reserved = reserved - releasable
        where id = (r->>'provider_id')::int;
      if debit > 0 then
        insert into balance_transactions (provider_id, kind, amount, balance_after, request_id, created_at)
          values ((r->>'provider_id')::int, 'debit', -debit, balance - debit, rid, (r->>'now')::timestamptz);
      end if;
      shortfall := cost - debit;
    end if;

    insert into llm_requests (request_id, client_id, token_id, provider_id, model_config_id, model, endpoint,
        status, error_class, upstream_status, streamed, prompt_tokens, completion_tokens, cache_read_tokens,
        cache_write_tokens, reasoning_tokens, usage_estimated, cost, credit_shortfall, latency_ms, ttft_ms, created_at)
      values (rid, (r->>'client_id')::int, (r->>'token_id')::int, (r->>'provider_id')::int,
        (r->>'model_config_id')::int, r->>'model', r->>'endpoint', r->>'status', r->>'error_class',
        (r->>'upstream_status')::int, (r->>'streamed')::boolean, prompt, completion,
        (r->>'cache_read_tokens')::int, (r->>'cache_write_tokens')::int, (r->>'reasoning_tokens')::int,
        (r->>'usage_estimated')::boolean, cost, shortfall, (r->>'latency_ms')::int, (r->>'ttft_ms')::int,
        (r->>'created_at')::timestamptz)
      on conflict (request_id) do nothing;
    if not found then
      raise exception 'request % is already recorded', rid using errcode = 'LPDUP';
    end if;

    if closed->>'budget_day' is not null then
      update clients set
        concurrent_requests = case when concurrent_requests > 0 then concurrent_requests - 1 else 0 end,
        rate_window_tokens = case when rate_window = (closed->>'rate_window')::bigint
          then greatest(rate_window_tokens + prompt + completion - (closed->>'tokens_held')::bigint, 0)
          else rate_window_tokens end,
        budget_day_held = case when budget_day = closed->>'budget_day'
          then greatest(budget_day_held - (closed->>'budget_held')::bigint, 0) else budget_day_held end,
        budget_month_held = case when budget_month = closed->>'budget_month'
          then greatest(budget_month_held - (closed->>'budget_held')::bigint, 0) else budget_month_held end
      where id = (closed->>'client_id')::int;
    end if;

    update clients set total_requests = total_requests + 1, total_prompt_tokens = total_prompt_tokens + prompt,
        total_completion_tokens = total_completion_tokens + completion,
        total_cached_tokens = total_cached_tokens + (r->>'cache_read_tokens')::int,
        total_reasoning_tokens = total_reasoning_tokens + (r->>'reasoning_tokens')::int,
        total_cost = total_cost + cost,
        budget_day_spent = case when budget_day is null or budget_day < spend_day then cost
          when budget_day = spend_day then budget_day_spent + cost else budget_day_spent end,
        budget_day_held = case when budget_day is null or budget_day < spend_day then 0 else budget_day_held end,
        budget_day = case when budget_day is null or budget_day < spend_day then spend_day else budget_day end,
        budget_month_spent = case when budget_month is null or budget_month < spend_month then cost
          when budget_month = spend_month then budget_month_spent + cost else budget_month_spent end,
        budget_month_held = case when budget_month is null or budget_month < spend_month then 0
          else budget_month_held end,
        budget_month = case when budget_month is null or budget_month < spend_month then spend_month
          else budget_month end
      where id = (r->>'client_id')::int;

    insert into usage_daily (day, client_id, provider_id, model, requests, failed_requests, estimated_requests,
        prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost)
      values (r->>'rollup_day', (r->>'client_id')::int, (r->>'provider_id')::int, r->>'model', 1,
        case when r->>'status' = 'completed' then 0 else 1 end,
        case when (r->>'usage_estimated')::boolean then 1 else 0 end,
        prompt, completion, (r->>'cache_read_tokens')::int, (r->>'cache_write_tokens')::int,
        (r->>'reasoning_tokens')::int, cost)
      on conflict (day, client_id, provider_id, model) do update set
        requests = usage_daily.requests + 1,
        failed_requests = usage_daily.failed_requests + excluded.failed_requests,
        estimated_requests = usage_daily.estimated_requests + excluded.estimated_requests,
        prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
        cache_read_tokens = usage_daily.cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = usage_daily.cache_write_tokens + excluded.cache_write_tokens,
        reasoning_tokens = usage_daily.reasoning_tokens + excluded.reasoning_tokens,
        cost = usage_daily.cost + excluded.cost;

    results := results || shortfall::text;
  end loop;

  return results;
end
$$`;

/*
 * Admission of several requests of clients without limits, each as `llmp_admit_unlimited` admits it: the provider
 * hold, then the claim of the request id. The existing reservations of the batch's request ids are locked first, in
 * request id order, then the providers in id order: a reused request id then waits for a settlement of that id to
 * finish instead of holding the provider's row that the settlement needs. A request id in use, before this call or
 * earlier in the batch, gives back the hold it just took.
 *
 * Returns one element per request, in order: `admitted`, `insufficient_credit` or `duplicate`.
 */
const ADMIT_BATCH = `
create function llmp_admit_batch(async_commit boolean, rs jsonb) returns text[]
language plpgsql as $$
declare
  r jsonb;
  amount bigint;
  results text[] := '{}';
begin
  if async_commit then
    perform set_config('synchronous_commit', 'off', true);
  end if;

  perform 1 from credit_reservations
    where request_id in (select x.r->>'request_id' from jsonb_array_elements(rs) x(r))
    order by request_id for update;
  perform 1 from providers
    where id in (select (x.r->>'provider_id')::int from jsonb_array_elements(rs) x(r) where (x.r->>'prepaid')::boolean)
    order by id for update;

  for r in select x.r from jsonb_array_elements(rs) x(r) loop
    amount := (r->>'amount')::bigint;
    if (r->>'prepaid')::boolean then
      update providers set credit_reserved = credit_reserved + amount
        where id = (r->>'provider_id')::int and credit_balance - credit_reserved >= amount;
      if not found then
        results := results || 'insufficient_credit'::text;
        continue;
      end if;
    end if;

    insert into credit_reservations (request_id, provider_id, client_id, amount, budget_day, budget_month,
        budget_held, rate_window, tokens_held, status, expires_at, created_at)
      values (r->>'request_id', (r->>'provider_id')::int, (r->>'client_id')::int, amount, null, null, 0, null, 0,
        'pending', (r->>'expires_at')::timestamptz, (r->>'now')::timestamptz)
      on conflict (request_id) do update set provider_id = excluded.provider_id,
        client_id = excluded.client_id, amount = excluded.amount, budget_day = excluded.budget_day,
        budget_month = excluded.budget_month, budget_held = excluded.budget_held,
        rate_window = excluded.rate_window, tokens_held = excluded.tokens_held, status = excluded.status,
        expires_at = excluded.expires_at, created_at = excluded.created_at, settled_at = null
      where credit_reservations.status = 'voided'
        and not exists (select 1 from llm_requests q where q.request_id = excluded.request_id);
    if not found then
      if (r->>'prepaid')::boolean then
        update providers set credit_reserved = credit_reserved - amount where id = (r->>'provider_id')::int;
      end if;
      results := results || 'duplicate'::text;
      continue;
    end if;

    results := results || 'admitted'::text;
  end loop;

  return results;
end
$$`;

/** `llmp_admit_unlimited` as the previous step created it, to replace in place. */
const ADMIT_REPLACED = ADMIT.replace(
  "create function",
  "create or replace function",
);

/*
 * The single admission takes the same first lock as a batch: the reservation of its request id, if one exists,
 * before the provider's row. The rest of the function is unchanged.
 */
const ADMIT_LOCKING_RESERVATION = ADMIT_REPLACED.replace(
  "begin\n  if async_commit then",
  "begin\n  perform 1 from credit_reservations where request_id = r->>'request_id' for update;\n\n  if async_commit then",
);
if (ADMIT_LOCKING_RESERVATION === ADMIT_REPLACED) {
  throw new Error(
    "llmp_admit_unlimited no longer starts as this migration expects",
  );
}

export class Migration20261220090000AccountingBatches extends Migration {
  override async up(): Promise<void> {
    this.addSql(SETTLE_BATCH);
    this.addSql(ADMIT_BATCH);
    this.addSql(ADMIT_LOCKING_RESERVATION);
  }

  override async down(): Promise<void> {
    this.addSql(ADMIT_REPLACED);
    this.addSql("drop function llmp_admit_batch(boolean, jsonb)");
    this.addSql("drop function llmp_settle_batch(boolean, jsonb)");
  }
}
