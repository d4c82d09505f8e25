import { AuditEntry } from "../audit/entities/audit-entry.entity";
import { AdminSession } from "../auth/entities/admin-session.entity";
import { OidcFlow } from "../auth/entities/oidc-flow.entity";
import { SignInFailure } from "../auth/entities/sign-in-failure.entity";
import { User } from "../auth/entities/user.entity";
import { BalanceTransaction } from "../billing/entities/balance-transaction.entity";
import { CreditReservation } from "../billing/entities/credit-reservation.entity";
import { LlmRequest } from "../billing/entities/llm-request.entity";
import { UsageDaily } from "../billing/entities/usage-daily.entity";
import { Client } from "../clients/entities/client.entity";
import { ClientToken } from "../clients/entities/client-token.entity";
import { HealthProbe } from "../health/health-probe.entity";
import { JobLease } from "../maintenance/entities/job-lease.entity";
import { JobRun } from "../maintenance/entities/job-run.entity";
import { ModelConfig } from "../providers/entities/model-config.entity";
import { Provider } from "../providers/entities/provider.entity";

/** Every entity, listed once so the app, the CLI and the migration check load the same model. */
export const ENTITIES = [
  User,
  AdminSession,
  SignInFailure,
  OidcFlow,
  Client,
  ClientToken,
  Provider,
  ModelConfig,
  LlmRequest,
  CreditReservation,
  BalanceTransaction,
  UsageDaily,
  JobRun,
  JobLease,
  HealthProbe,
  AuditEntry,
];
