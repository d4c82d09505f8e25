import { FastifyReply } from "fastify";

import { RateLimitSnapshot } from "../../billing/accounting.service";
import { RequestStatus } from "../../billing/entities/llm-request.entity";
import { TokenUsage } from "../../billing/usage";
import { ClientPrincipal } from "../../clients/client-principal";
import { ProxyError } from "../../common/proxy-error";
import { ResolvedModel } from "../../providers/model-resolver.service";
import { ParsedRequest, ProxyEndpoint, TokenBounds } from "../endpoint";

/** One client request, across all its attempts. */
export interface ClientCall<R extends ParsedRequest> {
  endpoint: ProxyEndpoint<R>;
  request: R;
  requestId: string;
  principal: ClientPrincipal;
  createdAt: Date;
  /** Aborted when the client leaves or shutdown runs out of patience. */
  controller: AbortController;
  reply: FastifyReply;
  rateLimits: RateLimitSnapshot | null;
  /** Whether an attempt was admitted, so later ones do not count against requests per minute again. */
  counted: boolean;
}

/** One attempt of a client request at one provider. */
export interface Attempt<R extends ParsedRequest> {
  call: ClientCall<R>;
  /** The client's request id for the first attempt, then `<id>~2`, `<id>~3`, ... */
  id: string;
  route: ResolvedModel;
  bounds: TokenBounds;
  /** `performance.now()` when the attempt was admitted. */
  startedAt: number;
  /** Aborted with the client's signal, and by this attempt's timeouts. */
  controller: AbortController;
}

/** Outcome of an attempt that did not answer the client, for the retry loop. */
export type AttemptFailure =
  | {
      retry: true;
      error: ProxyError;
      waitMs: number | null;
      /** The provider asked for a longer wait than `routing.maxRetryAfterMs`: try only the other providers. */
      skipProvider?: boolean;
    }
  | { retry: false; error: ProxyError };

/** End state of an attempt, as its accounting record stores it. */
export interface Settlement {
  /** `performance.now()` when the answer was complete; defaults to the moment of settling. */
  finishedAt?: number;
  status: RequestStatus;
  errorClass: string | null;
  upstreamStatus: number | null;
  usage?: TokenUsage;
  usageEstimated?: boolean;
  ttftMs?: number | null;
}
