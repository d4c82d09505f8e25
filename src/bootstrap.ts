import { IncomingMessage } from "node:http";
import { createRequire } from "node:module";

import { Logger as NestLogger } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import {
  FastifyAdapter,
  NestFastifyApplication,
} from "@nestjs/platform-fastify";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { Logger } from "nestjs-pino";
import { cleanupOpenApiDoc } from "nestjs-zod";

import { AppModule } from "./app.module";
import { HttpExceptionFilter } from "./common/http-exception.filter";
import { errorDialect, ProxyError } from "./common/proxy-error";
import { assignRequestId } from "./common/request-id";
import { AppConfig } from "./config/config.schema";
import { createRootLogger, logWhenFinished } from "./logging/request-logging";

/**
 * Builds the application for a configuration without listening, so the service and the tests start it the
 * same way. Migrations run during `init`.
 */
export async function createApp(
  config: AppConfig,
): Promise<NestFastifyApplication> {
  const logger = createRootLogger(config);
  const adapter = new FastifyAdapter({
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    // Fastify gives each request a child of this logger that tags every line with the request id, and Nest's
    // middleware hands it on to nestjs-pino. The request's line is logged by logWhenFinished, not by Fastify.
    loggerInstance: logger,
    logController: new adapterFastify.LogController({
      disableRequestLogging: true,
      requestIdLogLabel: "requestId",
    }),
    // Fastify's own id becomes the raw request's too.
    genReqId: (request: IncomingMessage) => {
      const id = assignRequestId(request);
      (request as typeof request & { id: string }).id = id;
      return id;
    },
    forceCloseConnections: "idle",
    return503OnClosing: true,
    // A body still arriving after this long is cut off with 408, so slow senders cannot hold connections open.
    requestTimeout: REQUEST_RECEIVE_TIMEOUT_MS,
    // Valid JSON with a `__proto__` or `constructor.prototype` key is accepted with that key dropped.
    onProtoPoisoning: "remove",
    onConstructorPoisoning: "remove",
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, logger),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new HttpExceptionFilter());
  addRequestHooks(app);
  setUpSwagger(app);

  await app.init();
  return app;
}

/**
 * The Fastify that Nest's adapter runs, which can be another copy than the one this package depends on. Fastify
 * accepts a LogController only from its own copy.
 */
const adapterFastify = createRequire(
  require.resolve("@nestjs/platform-fastify"),
)("fastify") as {
  LogController: new (options: {
    disableRequestLogging: boolean;
    requestIdLogLabel: string;
  }) => AdapterLogController;
};

type AdapterOptions = NonNullable<
  ConstructorParameters<typeof FastifyAdapter>[0]
>;
type AdapterLogController = NonNullable<
  AdapterOptions extends { logController?: infer C } ? C : never
>;

/** Maximum time, in milliseconds, a client may take to send its whole request, body included. */
const REQUEST_RECEIVE_TIMEOUT_MS = 120_000;

/**
 * Fastify hooks that run outside Nest: every request gets its log line, every response carries its request id, and
 * `/v1` bodies that are compressed or not JSON are rejected with a 415 in OpenAI's format before anything parses them.
 */
function addRequestHooks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();

  fastify.addHook("onRequest", (request, reply, done) => {
    logWhenFinished(request.log, request.raw, reply.raw);
    done();
  });

  fastify.addHook("onSend", async (request, reply, payload) => {
    reply.header("x-request-id", request.id);
    return payload;
  });

  // TODO: authenticate /v1 callers in this hook, before the body is read, so bodies of unknown callers are
  // never buffered. Today the token is checked once the whole body (up to server.bodyLimitBytes) has arrived.
  fastify.addHook("onRequest", async (request, reply) => {
    if (request.method !== "POST" || !request.url.startsWith("/v1/")) {
      return;
    }

    const encoding = request.headers["content-encoding"];
    const type = request.headers["content-type"] ?? "";
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1];
    const problem =
      encoding && encoding !== "identity"
        ? `Compressed request bodies (Content-Encoding: ${encoding}) are not accepted; send plain JSON.`
        : !/^application\/json\b/i.test(type)
          ? "Send the request body as JSON with 'Content-Type: application/json'."
          : charset && !/^utf-?8$/i.test(charset)
            ? `JSON bodies must be UTF-8; charset '${charset}' is not accepted.`
            : null;
    if (problem) {
      const error = new ProxyError(problem, {
        status: 415,
        type: "invalid_request_error",
        code: "unsupported_media_type",
      });
      await reply
        .status(415)
        .send(
          errorDialect(request.url) === "anthropic"
            ? error.toAnthropicBody()
            : error.toBody(),
        );
    }
  });
}

function setUpSwagger(app: NestFastifyApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle("llm-proxy")
      .setDescription(
        "OpenAI-compatible LLM gateway with exact per-request metering",
      )
      .setVersion("0.1.0")
      // 3.1 schemas are JSON Schema, which is what the zod DTOs produce.
      .setOpenAPIVersion("3.1.0")
      .addBearerAuth(
        {
          type: "http",
          scheme: "bearer",
          description: "Client token (lpx_...)",
        },
        "client-token",
      )
      .addBearerAuth(
        {
          type: "http",
          scheme: "bearer",
          bearerFormat: "opaque",
          description:
            "Admin session token (lps_...) from POST /api/auth/login or the OpenID Connect callback; browsers may send it in the llmp_session cookie instead",
        },
        "admin",
      )
      .build(),
  );
  // Turns the schemas of zod DTOs into plain OpenAPI 3.0 schemas.
  SwaggerModule.setup("docs", app, cleanupOpenApiDoc(document), {
    jsonDocumentUrl: "docs/json",
  });
}

/** Logs through Nest before the pino logger is attached. */
export const bootLogger = new NestLogger("Bootstrap");
