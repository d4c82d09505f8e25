import { IncomingMessage } from "node:http";

import { Logger as NestLogger } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import {
  FastifyAdapter,
  NestFastifyApplication,
} from "@nestjs/platform-fastify";
import { DocumentBuilder, SwaggerModule } from "@nestjs/swagger";
import { Logger } from "nestjs-pino";

import { AppModule } from "./app.module";
import { HttpExceptionFilter } from "./common/http-exception.filter";
import { assignRequestId } from "./common/request-id";
import { AppConfig } from "./config/config.schema";

/**
 * Builds the application for a configuration without listening, so the service and the tests start it the
 * same way. Migrations run during `init`.
 */
export async function createApp(
  config: AppConfig,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    // Fastify's own id becomes the raw request's too, so pino-http tags its lines with the same id.
    genReqId: (request: IncomingMessage) => {
      const id = assignRequestId(request);
      (request as typeof request & { id: string }).id = id;
      return id;
    },
    forceCloseConnections: "idle",
    return503OnClosing: true,
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new HttpExceptionFilter());
  setUpSwagger(app);

  await app.init();
  return app;
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
      .addBearerAuth(
        {
          type: "http",
          scheme: "bearer",
          description: "Client token (lpx_...)",
        },
        "client-token",
      )
      .build(),
  );
  SwaggerModule.setup("docs", app, document, { jsonDocumentUrl: "docs/json" });
}

/** Logs through Nest before the pino logger is attached. */
export const bootLogger = new NestLogger("Bootstrap");
