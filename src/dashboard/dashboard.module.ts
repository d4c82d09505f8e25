import { Inject, Logger, Module, OnModuleInit } from "@nestjs/common";
import { HttpAdapterHost } from "@nestjs/core";
import fastifyStatic from "@fastify/static";
import { FastifyInstance, FastifyReply } from "fastify";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import {
  DASHBOARD_CSP,
  DashboardAssets,
  loadDashboardAssets,
  withSignInMethods,
} from "./dashboard-assets";

/** Hashed asset files never change under their name, so browsers may keep them for a year. */
const ASSET_MAX_AGE = "365d";

/**
 * Serves the operators' dashboard, a single-page app built into `dist/web`, under `/dashboard/`. Hashed files
 * under `/dashboard/assets/` are cached for a year. Every other path under `/dashboard/` returns `index.html`
 * uncached, so client-side routes load the app and a new build is picked up at once. The app itself only calls
 * the admin API, which does its own authentication. Without a build, `/dashboard` returns 503 with a message
 * on how to build it.
 */
@Module({})
export class DashboardModule implements OnModuleInit {
  private readonly logger = new Logger(DashboardModule.name);

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const assets = loadDashboardAssets();

    if (assets.indexHtml === null) {
      this.logger.warn({
        msg: "dashboard assets not found; /dashboard returns 503 until they are built",
        folder: assets.folder,
      });
    } else {
      this.registerAssets(fastify, assets);
    }
    this.registerPages(
      fastify,
      assets.indexHtml === null
        ? null
        : withSignInMethods(assets.indexHtml, this.config.auth.oidc.enabled),
    );
  }

  /**
   * Queues the static plugin without awaiting it: awaiting would boot Fastify's plugin queue before Nest has
   * installed its error handling, and body-parsing errors would then bypass the exception filter.
   */
  private registerAssets(fastify: FastifyInstance, assets: DashboardAssets) {
    void fastify.register(fastifyStatic, {
      root: `${assets.folder}/assets`,
      prefix: "/dashboard/assets/",
      index: false,
      maxAge: ASSET_MAX_AGE,
      immutable: true,
      setHeaders: (reply) => {
        void reply.header("content-security-policy", DASHBOARD_CSP);
        void reply.header("x-content-type-options", "nosniff");
      },
    });
  }

  private registerPages(
    fastify: FastifyInstance,
    indexHtml: string | null,
  ): void {
    const page = (reply: FastifyReply) => {
      void reply
        .header("cache-control", "no-store")
        .header("content-security-policy", DASHBOARD_CSP)
        .header("x-content-type-options", "nosniff")
        .header("referrer-policy", "same-origin")
        .header("x-frame-options", "DENY");
      if (indexHtml === null) {
        return reply
          .status(503)
          .type("text/plain; charset=utf-8")
          .send(
            "The dashboard is not built. Run `npm run build`, which builds it into dist/web, and restart the server.",
          );
      }
      return reply.type("text/html; charset=utf-8").send(indexHtml);
    };

    fastify.get("/dashboard", (_request, reply) =>
      reply.redirect("/dashboard/", 308),
    );
    fastify.get("/dashboard/", (_request, reply) => page(reply));
    // Client-side routes. The static route above returns 404 for a missing hashed asset.
    fastify.get("/dashboard/*", (request, reply) => {
      if (request.url.startsWith("/dashboard/assets/")) {
        return reply.status(404).type("text/plain").send("Not found");
      }
      return page(reply);
    });
  }
}
