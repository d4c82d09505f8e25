import { RequestMethod } from "@nestjs/common";
import { METHOD_METADATA, PATH_METADATA } from "@nestjs/common/constants";
import { ModulesContainer } from "@nestjs/core";
import { NestFastifyApplication } from "@nestjs/platform-fastify";

/** One route of a controller as the app registered it, with the path in OpenAPI's `{param}` form. */
export interface AppRoute {
  method: string;
  path: string;
}

/**
 * Lists every controller route of the running app from Nest's metadata, and checks each against Fastify's
 * router, so the list is what the server really serves.
 */
export function registeredRoutes(app: NestFastifyApplication): AppRoute[] {
  const fastify = app.getHttpAdapter().getInstance();
  const routes: AppRoute[] = [];

  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new () => object) | null;
      if (!controller) continue;

      const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? "");
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (typeof handler !== "function" || name === "constructor") continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as
          RequestMethod | undefined;
        if (method === undefined) continue;

        const url = joinPath(
          base,
          String(Reflect.getMetadata(PATH_METADATA, handler)),
        );
        const verb = RequestMethod[method];
        if (!fastify.hasRoute({ method: verb, url })) {
          throw new Error(`${verb} ${url} is declared but not registered`);
        }
        routes.push({ method: verb, path: url.replace(/:(\w+)/g, "{$1}") });
      }
    }
  }

  return routes;
}

/** Joins a controller path and a handler path the way Nest does, with one leading slash. */
function joinPath(base: string, path: string): string {
  const parts = [base, path]
    .map((part) => part.replace(/^\/+|\/+$/g, ""))
    .filter(Boolean);
  return `/${parts.join("/")}`;
}
