import { Migration } from "@mikro-orm/migrations";

/*
 * Admission and settlement as server-side functions, so each is one round trip and one transaction of its own.
 * The prepaid provider's row is the one every request of that provider writes; run statement by statement from
 * the application, a settlement held its lock for eight round trips, and requests of one provider queued behind
 * each other for that long. Inside a function the statements run back to back on the server, in the order the
 * design fixes (provider, then client, then rollup), and the lock is held for microseconds.
 *
 * Both take `async_commit` first: true commits with `synchronous_commit = off`, for callers that make the commit
 * durable afterwards with a shared WAL flush, or need it not to be. The SQL mirrors AccountingStore's statements
 * for SQLite one for one; the test suite runs both.
 *
 * A request id that is already recorded raises SQLSTATE LPDUP, which rolls back everything the call wrote.
 */

const SETTLE = `
create function llmp_settle(async_commit boolean, r jsonb) returns bigint
language plpgsql as $$
declare
  closed record;
  existing_status text;
  held bigint := 0;
  balance bigint;
  reserved bigint;
  releasable bigint;
  debit bigint := 0;
  shortfall bigint := 0;
  cost bigint := (r->>'cost')::bigint;
  now_at timestamptz := (r->>'now')::timestamptz;
  prompt bigint := (r->>'prompt_tokens')::bigint;
  completion bigint := (r->>'completion_tokens')::bigint;
  spend_day varchar := r->>'spend_day';
  spend_month varchar := r->>'spend_month';
begin
  if async_commit then
    perform set_config('synchronous_commit', 'off', true);
  end if;

  update credit_reservations set status = 'posted', settled_at = now_at
    where request_id = r->>'request_id' and status = 'pending'
    returning provider_id, client_id, amount, budget_day, budget_month, budget_held, rate_window, tokens_held
    into closed;
  if not found then
    select status into existing_status from credit_reservations where request_id = r->>'request_id';
    if existing_status = 'posted' then
      raise exception 'request % is already recorded', r->>'request_id' using errcode = 'LPDUP';
    end if;
  else
    held := closed.amount;
  end if;

  if (r->>'prepaid')::boolean then
    select credit_balance, credit_reserved into balance, reserved
      from providers where id = (r->>'provider_id')::int for update;
    releasable := least(held, reserved);
    debit := least(cost, balance - reserved + releasable);
    update providers set credit_balance = balance - debit, credit_reserved = reserved - releasable
      where id = (r->>'provider_id')::int;
    if debit > 0 then
      insert into balance_transactions (provider_id, kind, amount, balance_after, request_id, created_at)
        values ((r->>'provider_id')::int, 'debit', -debit, balance - debit, r->>'request_id', now_at);
    end if;
    shortfall := cost - debit;
  end if;

  insert into llm_requests (request_id, client_id, token_id, provider_id, model_config_id, model, endpoint,
      status, error_class, upstream_status, streamed, prompt_tokens, completion_tokens, cache_read_tokens,
      cache_write_tokens, reasoning_tokens, usage_estimated, cost, credit_shortfall, latency_ms, ttft_ms, created_at)
    values (r->>'request_id', (r->>'client_id')::int, (r->>'token_id')::int, (r->>'provider_id')::int,
      (r->>'model_config_id')::int, r->>'model', r->>'endpoint', r->>'status', r->>'error_class',
      (r->>'upstream_status')::int, (r->>'streamed')::boolean, prompt, completion,
      (r->>'cache_read_tokens')::int, (r->>'cache_write_tokens')::int, (r->>'reasoning_tokens')::int,
      (r->>'usage_estimated')::boolean, cost, shortfall, (r->>'latency_ms')::int, (r->>'ttft_ms')::int,
      (r->>'created_at')::timestamptz)
    on conflict (request_id) do nothing;
  if not found then
    raise exception 'request % is already recorded', r->>'request_id' using errcode = 'LPDUP';
  end if;

  if closed.budget_day is not null then
    update clients set
      concurrent_requests = case when concurrent_requests > 0 then concurrent_requests - 1 else 0 end,
      rate_window_tokens = case when rate_window = closed.rate_window
        then greatest(rate_window_tokens + prompt + completion - closed.tokens_held, 0)
        else rate_window_tokens end,
      budget_day_held = case when budget_day = closed.budget_day
        then greatest(budget_day_held - closed.budget_held, 0) else budget_day_held end,
      budget_month_held = case when budget_month = closed.budget_month
        then greatest(budget_month_held - closed.budget_held, 0) else budget_month_held end
    where id = closed.client_id;
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
      budget_month_held = case when budget_month is null or budget_month < spend_month then 0 else budget_month_held end,
      budget_month = case when budget_month is null or budget_month < spend_month then spend_month else budget_month end
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

  return shortfall;
end
$$`;

/*
 * Admission of a request whose client has no limits: the provider hold and the claim of the request id. Returns
 * false when the prepaid credit is short; a request id in use raises LPDUP.
 */
export const ADMIT = `
create function llmp_admit_unlimited(async_commit boolean, r jsonb) returns boolean
language plpgsql as $$
begin
  if async_commit then
    perform set_config('synchronous_commit', 'off', true);
  end if;

  if (r->>'prepaid')::boolean then
    update providers set credit_reserved = credit_reserved + (r->>'amount')::bigint
      where id = (r->>'provider_id')::int and credit_balance - credit_reserved >= (r->>'amount')::bigint;
    if not found then
      return false;
    end if;
  end if;

  insert into credit_reservations (request_id, provider_id, client_id, amount, budget_day, budget_month,
      budget_held, rate_window, tokens_held, status, expires_at, created_at)
    values (r->>'request_id', (r->>'provider_id')::int, (r->>'client_id')::int, (r->>'amount')::bigint, null,
      null, 0, null, 0, 'pending', (r->>'expires_at')::timestamptz, (r->>'now')::timestamptz)
    on conflict (request_id) do update set provider_id = excluded.provider_id,
      client_id = excluded.client_id, amount = excluded.amount, budget_day = excluded.budget_day,
      budget_month = excluded.budget_month, budget_held = excluded.budget_held,
      rate_window = excluded.rate_window, tokens_held = excluded.tokens_held, status = excluded.status,
      expires_at = excluded.expires_at, created_at = excluded.created_at, settled_at = null
    where credit_reservations.status = 'voided'
      and not exists (select 1 from llm_requests q where q.request_id = excluded.request_id);
  if not found then
    raise exception 'request id % is in use', r->>'request_id' using errcode = 'LPDUP';
  end if;

  return true;
end
$$`;

export class Migration20261219090000AccountingFunctions extends Migration {
  override async up(): Promise<void> {
    this.addSql(SETTLE);
    this.addSql(ADMIT);
  }

  override async down(): Promise<void> {
    this.addSql("drop function llmp_admit_unlimited(boolean, jsonb)");
    this.addSql("drop function llmp_settle(boolean, jsonb)");
  }
}
