import { Inject, Injectable, Logger } from "@nestjs/common";
import { FastifyReply, FastifyRequest } from "fastify";

import { AccountingService } from "../billing/accounting.service";
import { RequestStatus } from "../billing/entities/llm-request.entity";
import { priceUsage, worstCaseCost } from "../billing/pricing";
import { RequestRecord } from "../billing/request-record";
import { NO_USAGE, TokenUsage } from "../billing/usage";
import { ClientPrincipal } from "../clients/client-principal";
import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { ProxyError } from "../common/proxy-error";
import { MetricsService } from "../metrics/metrics.service";
import {
  ModelResolver,
  ResolvedModel,
} from "../providers/model-resolver.service";
import { InFlightRequests, SHUTDOWN_REASON } from "./in-flight.service";
import {
  ChatRequest,
  inputTokenUpperBound,
  parseChatRequest,
  requestedOutputLimit,
  upstreamChatBody,
} from "./openai/chat-request";
import { ChatStreamRelay, RelayOutcome } from "./openai/chat-stream-relay";
import { parseOpenAiUsage } from "./openai/openai-usage";
import { upstreamFailure, upstreamHttpError } from "./openai/upstream-errors";
import { TokenEstimator } from "./token-estimator.service";
import {
  neverReachedProvider,
  UpstreamClient,
  UpstreamResponse,
} from "./upstream/upstream-client.service";

const ENDPOINT = "chat.completions";

/** Largest upstream JSON body read into memory, in bytes. */
const MAX_UPSTREAM_JSON_BYTES = 64 * 1024 * 1024;

/** One admitted chat request on its way through the proxy. */
interface Call {
  requestId: string;
  principal: ClientPrincipal;
  chat: ChatRequest;
  model: ResolvedModel;
  /** Token limits that admission held credit for. Estimates are capped at them, because the provider cannot exceed them. */
  bounds: TokenBounds;
  createdAt: Date;
  startedAt: number;
  controller: AbortController;
}

/** Most input and output tokens a request can use: every input byte a token, and the output limit times `n`. */
interface TokenBounds {
  input: number;
  output: number;
}

/**
 * Proxies `POST /v1/chat/completions` to an OpenAI-compatible provider and meters it: admission against prepaid
 * credit before the call, one accounting record after it, whatever way it ended.
 */
@Injectable()
export class ChatCompletionsService {
  private readonly logger = new Logger(ChatCompletionsService.name);

  constructor(
    private readonly models: ModelResolver,
    private readonly accounting: AccountingService,
    private readonly upstream: UpstreamClient,
    private readonly estimator: TokenEstimator,
    private readonly inFlight: InFlightRequests,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle(
    principal: ClientPrincipal,
    requestId: string,
    body: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const chat = parseChatRequest(body);
    const model = await this.resolveModel(principal, chat.model);
    const bounds = this.tokenBounds(chat, model);
    await this.admit(principal, requestId, model, bounds);

    const call: Call = {
      requestId,
      principal,
      chat,
      model,
      bounds,
      createdAt: new Date(),
      startedAt: performance.now(),
      controller: new AbortController(),
    };
    const abortOnHangUp = () => {
      if (!reply.raw.writableFinished) {
        call.controller.abort(new Error("client closed the connection"));
      }
    };
    reply.raw.once("close", abortOnHangUp);
    request.raw.once("aborted", abortOnHangUp);

    await this.inFlight.track(requestId, call.controller, () =>
      this.forward(call, reply),
    );
  }

  private async resolveModel(
    principal: ClientPrincipal,
    name: string,
  ): Promise<ResolvedModel> {
    const model = await this.models.resolve(name);
    if (!model) {
      throw new ProxyError(
        `The model '${name}' does not exist or no provider serves it.`,
        {
          status: 404,
          type: "invalid_request_error",
          code: "model_not_found",
          param: "model",
        },
      );
    }
    if (
      principal.allowedModels !== null &&
      !principal.allowedModels.includes(name)
    ) {
      throw new ProxyError(`This client may not use the model '${name}'.`, {
        status: 403,
        type: "permission_error",
        code: "model_not_allowed",
        param: "model",
      });
    }

    return model;
  }

  private tokenBounds(chat: ChatRequest, model: ResolvedModel): TokenBounds {
    const outputLimit =
      requestedOutputLimit(chat) ??
      model.maxOutputTokens ??
      this.config.billing.defaultMaxOutputTokens;

    return {
      input: inputTokenUpperBound(
        chat,
        this.config.billing.imageTokenAllowance,
      ),
      output: outputLimit * (chat.n ?? 1),
    };
  }

  private async admit(
    principal: ClientPrincipal,
    requestId: string,
    model: ResolvedModel,
    bounds: TokenBounds,
  ) {
    const worstCase = model.provider.prepaid
      ? worstCaseCost(bounds.input, bounds.output, model.prices)
      : 0n;

    const result = await this.accounting
      .admit({
        requestId,
        providerId: model.provider.id,
        clientId: principal.clientId,
        prepaid: model.provider.prepaid,
        worstCase,
      })
      .catch((error: unknown) => {
        this.logger.error({
          msg: "admission failed; request not forwarded",
          requestId,
          err: error,
        });
        throw new ProxyError(
          "The accounting database is unavailable, so the request was not forwarded and nothing was charged. Retry shortly.",
          {
            status: 503,
            type: "service_unavailable_error",
            code: "accounting_unavailable",
            logLevel: "error",
          },
        );
      });

    if (result === "insufficient_credit") {
      throw new ProxyError(
        `The provider serving '${model.publicName}' has too little prepaid credit left for this request. ` +
          "Lower max_tokens or ask an operator to top up the provider.",
        {
          status: 402,
          type: "insufficient_quota",
          code: "insufficient_credit",
          logLevel: "warn",
        },
      );
    }
    if (result === "duplicate_request_id") {
      throw new ProxyError(
        `The request id '${requestId}' was already used. Answers are not stored, so send a new X-Request-Id.`,
        {
          status: 409,
          type: "invalid_request_error",
          code: "duplicate_request_id",
          logLevel: "warn",
        },
      );
    }
  }

  private async forward(call: Call, reply: FastifyReply): Promise<void> {
    const askForUsage = call.model.provider.supportsStreamOptions;
    let response: UpstreamResponse;

    try {
      response = await this.upstream.send({
        baseUrl: call.model.provider.baseUrl,
        path: "/chat/completions",
        method: "POST",
        headers: {
          authorization: `Bearer ${call.model.provider.apiKey}`,
          "content-type": "application/json",
          "x-request-id": call.requestId,
        },
        body: upstreamChatBody(call.chat, call.model.upstreamName, askForUsage),
        signal: call.controller.signal,
      });
    } catch (error) {
      await this.failBeforeResponse(call, error);
      throw upstreamFailure(error, call.controller.signal);
    }

    if (response.statusCode < 200 || response.statusCode >= 300) {
      const text = await readCapped(response, MAX_UPSTREAM_JSON_BYTES).catch(
        () => "",
      );
      await this.settle(call, {
        status: RequestStatus.Failed,
        errorClass: `upstream_${response.statusCode}`,
        upstreamStatus: response.statusCode,
      });
      throw upstreamHttpError(
        response.statusCode,
        text,
        response.headers,
        call.model.provider.name,
        call.model.provider.apiKey,
      );
    }

    if (call.chat.stream === true) {
      await this.relayStream(call, response, reply);
    } else {
      await this.relayJson(call, response, reply);
    }
  }

  /** A call that failed before any response: void the hold if the provider never saw it, else record it. */
  private async failBeforeResponse(call: Call, error: unknown): Promise<void> {
    if (neverReachedProvider(error)) {
      this.logger.warn({
        msg: "provider unreachable",
        requestId: call.requestId,
        provider: call.model.provider.name,
        err: error,
      });
      await this.accounting.void(call.requestId, call.model.provider.id);
      return;
    }

    const errorClass = call.controller.signal.aborted
      ? abortClass(call.controller.signal)
      : classifyTransportError(error);
    this.logger.warn({
      msg: "upstream call failed",
      requestId: call.requestId,
      errorClass,
      err: error,
    });
    await this.settle(
      call,
      this.beforeOutputSettlement(call, errorClass, null),
    );
  }

  /**
   * Settles a request that produced no output. When the proxy itself cut the call short (the client left or
   * the server is stopping), the provider has read the prompt and usually bills it, so the prompt is charged
   * as an estimate. An upstream failure charges only what the provider reported, which is nothing.
   */
  private beforeOutputSettlement(
    call: Call,
    errorClass: string,
    upstreamStatus: number | null,
  ): Settlement {
    if (errorClass !== "client_closed" && errorClass !== "shutdown") {
      return { status: RequestStatus.Failed, errorClass, upstreamStatus };
    }

    return {
      status: RequestStatus.Failed,
      errorClass,
      upstreamStatus,
      usage: this.estimateUsage(call, ""),
      usageEstimated: true,
    };
  }

  private async relayJson(
    call: Call,
    response: UpstreamResponse,
    reply: FastifyReply,
  ): Promise<void> {
    let text: string;
    try {
      text = await readCapped(response, MAX_UPSTREAM_JSON_BYTES);
    } catch (error) {
      const errorClass = call.controller.signal.aborted
        ? abortClass(call.controller.signal)
        : classifyTransportError(error);
      await this.settle(
        call,
        this.beforeOutputSettlement(call, errorClass, response.statusCode),
      );
      throw upstreamFailure(error, call.controller.signal);
    }

    // The answer goes out before the record is written: a crash in between loses the record exactly as a
    // crash just before sending would, and shutdown still waits for the write, since it is part of the
    // tracked request.
    const finishedAt = performance.now();
    const parsed = parseJson(text) as {
      usage?: unknown;
      choices?: { message?: unknown }[];
    } | null;
    if (typeof parsed !== "object" || parsed === null) {
      await this.settle(call, {
        status: RequestStatus.Failed,
        errorClass: "upstream_invalid_response",
        upstreamStatus: response.statusCode,
      });
      throw new ProxyError(
        `The provider '${call.model.provider.name}' returned status 200 with a body that is not a JSON object.`,
        {
          status: 502,
          type: "upstream_error",
          code: "upstream_invalid_response",
          logLevel: "warn",
        },
      );
    }

    void reply
      .status(200)
      .header("content-type", "application/json")
      .header("x-request-id", call.requestId)
      .send(text);

    const reported = parseOpenAiUsage(parsed?.usage);
    const usage =
      reported ??
      this.estimateUsage(
        call,
        (parsed?.choices ?? [])
          .map((choice) => textOfAssistant(choice?.message))
          .join(""),
      );

    await this.settle(call, {
      status: RequestStatus.Completed,
      errorClass: null,
      upstreamStatus: response.statusCode,
      usage,
      usageEstimated: reported === null,
      ttftMs: Math.round(finishedAt - call.startedAt),
      finishedAt,
    });
  }

  private async relayStream(
    call: Call,
    response: UpstreamResponse,
    reply: FastifyReply,
  ): Promise<void> {
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-request-id": call.requestId,
    });

    const clientWantsUsage = call.chat.stream_options?.include_usage === true;
    const relay = new ChatStreamRelay(
      reply.raw,
      clientWantsUsage,
      call.controller.signal,
      call.model.provider.apiKey,
    );
    const outcome = await relay.run(response.body);

    if (outcome.errorClass !== null) {
      writeStreamError(reply, outcome.errorClass);
    }

    const finishedAt = performance.now();
    if (!reply.raw.destroyed) {
      reply.raw.end();
    }

    await this.settle(call, {
      ...this.streamSettlement(call, outcome, response.statusCode),
      finishedAt,
    });
  }

  private streamSettlement(
    call: Call,
    outcome: RelayOutcome,
    upstreamStatus: number,
  ): Settlement {
    const ttftMs =
      outcome.firstOutputAt === null
        ? null
        : Math.round(outcome.firstOutputAt - call.startedAt);

    if (outcome.finished) {
      return {
        status: RequestStatus.Completed,
        errorClass: null,
        upstreamStatus,
        usage: outcome.usage ?? this.estimateUsage(call, outcome.outputText),
        usageEstimated: outcome.usage === null,
        ttftMs,
      };
    }

    // A stream that broke off after output is charged for what was generated.
    if (outcome.usage !== null || outcome.sawOutput) {
      return {
        status: RequestStatus.Incomplete,
        errorClass: outcome.errorClass,
        upstreamStatus,
        usage: outcome.usage ?? this.estimateUsage(call, outcome.outputText),
        usageEstimated: outcome.usage === null,
        ttftMs,
      };
    }

    return {
      ...this.beforeOutputSettlement(
        call,
        outcome.errorClass ?? "upstream_stream_broken",
        upstreamStatus,
      ),
      ttftMs,
    };
  }

  /** Tokenizer counts, capped at what admission held credit for. */
  private estimateUsage(call: Call, outputText: string): TokenUsage {
    return {
      ...NO_USAGE,
      promptTokens: Math.min(
        this.estimator.countChatPrompt(call.chat.messages),
        call.bounds.input,
      ),
      completionTokens: Math.min(
        this.estimator.countText(outputText),
        call.bounds.output,
      ),
    };
  }

  private async settle(call: Call, settlement: Settlement): Promise<void> {
    const usage = settlement.usage ?? NO_USAGE;
    const record: RequestRecord = {
      requestId: call.requestId,
      clientId: call.principal.clientId,
      tokenId: call.principal.tokenId,
      providerId: call.model.provider.id,
      modelConfigId: call.model.modelConfigId,
      model: call.model.publicName,
      endpoint: ENDPOINT,
      status: settlement.status,
      errorClass: settlement.errorClass,
      upstreamStatus: settlement.upstreamStatus,
      streamed: call.chat.stream === true,
      usage,
      usageEstimated: settlement.usageEstimated ?? false,
      cost: priceUsage(usage, call.model.prices),
      prepaid: call.model.provider.prepaid,
      latencyMs: Math.round(
        (settlement.finishedAt ?? performance.now()) - call.startedAt,
      ),
      ttftMs: settlement.ttftMs ?? null,
      createdAt: call.createdAt,
    };

    const outcome = await this.accounting.settle(record);
    if (outcome !== "duplicate") {
      this.metrics.observeRequest(record, call.model.provider.name);
    }
    this.logger.debug({
      msg: "request metered",
      requestId: call.requestId,
      outcome,
      status: record.status,
      errorClass: record.errorClass,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      estimated: record.usageEstimated,
      cost: record.cost.toString(),
    });
  }
}

interface Settlement {
  /** `performance.now()` when the answer was complete; defaults to the moment of settling. */
  finishedAt?: number;
  status: RequestStatus;
  errorClass: string | null;
  upstreamStatus: number | null;
  usage?: TokenUsage;
  usageEstimated?: boolean;
  ttftMs?: number | null;
}

/** Messages of the error event that ends a stream the provider or the proxy cut short. */
const STREAM_ERRORS: Record<string, string> = {
  upstream_stream_broken: "The provider's stream ended before it was complete.",
  upstream_timeout:
    "The provider stopped sending data and the stream timed out.",
  shutdown:
    "The proxy is shutting down and ended the stream before it was complete.",
};

/** Ends a broken stream with an OpenAI-style error event, so clients can tell it was cut short. */
function writeStreamError(reply: FastifyReply, errorClass: string): void {
  const message = STREAM_ERRORS[errorClass];
  if (!message || reply.raw.destroyed) {
    return;
  }
  const body = {
    error: { message, type: "upstream_error", param: null, code: errorClass },
  };
  reply.raw.write(`data: ${JSON.stringify(body)}\n\n`);
}

async function readCapped(
  response: UpstreamResponse,
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      throw new Error(`upstream body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function textOfAssistant(message: unknown): string {
  if (typeof message !== "object" || message === null) {
    return "";
  }
  const record = message as {
    content?: unknown;
    reasoning_content?: unknown;
    tool_calls?: { function?: { arguments?: unknown } }[];
  };
  const parts = [
    record.content,
    record.reasoning_content,
    ...(record.tool_calls ?? []).map((call) => call.function?.arguments),
  ];
  return parts
    .filter((part): part is string => typeof part === "string")
    .join("");
}

/** Tells a client hang-up from a shutdown that ran out of patience, by the reason the call was aborted with. */
function abortClass(signal: AbortSignal): string {
  const reason = signal.reason as { message?: unknown } | undefined;
  return reason?.message === SHUTDOWN_REASON ? "shutdown" : "client_closed";
}

function classifyTransportError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return "upstream_timeout";
  }
  return "upstream_connection";
}
