import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Logger,
} from "@nestjs/common";
import { FastifyReply, FastifyRequest } from "fastify";

import { errorDialect, ProxyError } from "./proxy-error";

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * Turns every error into a response: Anthropic's format on `/v1/messages`, OpenAI's `{"error": {...}}` on the
 * other `/v1` and `/api` routes, Nest's elsewhere. A 500 never shows internals, only the request id to quote when reporting it.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger("HttpErrors");

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = toProxyError(exception, request.id);

    this.log(error, exception);

    if (reply.sent || reply.raw.headersSent || reply.raw.destroyed) {
      return;
    }

    const dialect = errorDialect(request.url);
    const body =
      dialect === "anthropic"
        ? error.toAnthropicBody()
        : dialect === "openai"
          ? error.toBody()
          : nestBody(error, request.id);
    void reply
      .status(error.status)
      .headers({ ...error.headers, "x-request-id": request.id })
      .send(body);
  }

  private log(error: ProxyError, exception: unknown): void {
    // The request's child logger adds the request id to this line already.
    const entry = {
      msg: "request failed",
      status: error.status,
      code: error.code,
    };
    if (error.status >= 500 && !(exception instanceof ProxyError)) {
      this.logger.error({ ...entry, err: exception });
    } else if (error.logLevel === "error") {
      this.logger.error({ ...entry, message: withoutQuery(error.message) });
    } else if (error.logLevel === "warn") {
      this.logger.warn({ ...entry, message: withoutQuery(error.message) });
    } else {
      this.logger.debug({ ...entry, message: withoutQuery(error.message) });
    }
  }
}

/**
 * Drops query strings from a message before it is logged: Nest's 404 message quotes the URL, and a query string
 * may carry a token that a client sent in the wrong place.
 */
function withoutQuery(message: string): string {
  return message.replace(/(\/[^\s?]*)\?\S*/g, "$1");
}

/** Maps Nest, Fastify and unknown errors onto one shape. */
export function toProxyError(
  exception: unknown,
  requestId: string,
): ProxyError {
  if (exception instanceof ProxyError) {
    return exception;
  }

  if (exception instanceof HttpException) {
    return fromHttpException(exception);
  }

  const fastifyError = exception as FastifyLikeError;
  if (
    typeof fastifyError?.statusCode === "number" &&
    fastifyError.statusCode < 500
  ) {
    return fromFastifyError(fastifyError);
  }

  return new ProxyError(
    `Internal error. Quote request id ${requestId} when reporting it.`,
    {
      status: 500,
      type: "server_error",
      code: "internal_error",
      logLevel: "error",
    },
  );
}

/**
 * Nest turns Fastify's body-parsing errors into plain HttpExceptions that keep only the status and message, so
 * those are recognised by status and by the JSON parser's message.
 */
function fromHttpException(exception: HttpException): ProxyError {
  const status = exception.getStatus();
  const message = messageOf(exception);

  if (status === 413) {
    return fromFastifyError({ code: "FST_ERR_CTP_BODY_TOO_LARGE" });
  }
  if (status === 415) {
    return fromFastifyError({ code: "FST_ERR_CTP_INVALID_MEDIA_TYPE" });
  }
  if (status === 400 && /json/i.test(message)) {
    return fromFastifyError({ code: "FST_ERR_CTP_INVALID_JSON_BODY", message });
  }

  return new ProxyError(message, {
    status,
    type:
      status === 401
        ? "authentication_error"
        : status === 404
          ? "not_found_error"
          : "invalid_request_error",
    code: status === 404 ? "not_found" : "invalid_request",
  });
}

function fromFastifyError(error: FastifyLikeError): ProxyError {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ProxyError(
        `The request body is not valid JSON (${error.message ?? "parse error"}).`,
        {
          status: 400,
          type: "invalid_request_error",
          code: "invalid_json",
        },
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ProxyError(
        "The request body is larger than this proxy accepts (server.bodyLimitBytes).",
        {
          status: 413,
          type: "invalid_request_error",
          code: "request_too_large",
        },
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ProxyError(
        "Send the request body as JSON with 'Content-Type: application/json'.",
        {
          status: 415,
          type: "invalid_request_error",
          code: "unsupported_media_type",
        },
      );
    default:
      return new ProxyError(error.message ?? "Bad request", {
        status: error.statusCode ?? 400,
        type: "invalid_request_error",
        code: error.code?.toLowerCase() ?? "invalid_request",
      });
  }
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (
    typeof response === "object" &&
    response !== null &&
    "message" in response
  ) {
    const message: unknown = response.message;
    return Array.isArray(message) ? message.join("; ") : String(message);
  }
  return exception.message;
}

function nestBody(error: ProxyError, requestId: string) {
  return {
    statusCode: error.status,
    error: error.code,
    message: error.message,
    requestId,
  };
}
