import SwaggerParser from "@apidevtools/swagger-parser";

import { JsonBody } from "./support/admin-api";
import { AppRoute, registeredRoutes } from "./support/app-routes";
import { ProxyHarness } from "./support/proxy-harness";

type Operation = {
  operationId?: string;
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};

type OpenApiDocument = Extract<
  Parameters<typeof SwaggerParser.validate>[0],
  object
>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/**
 * The OpenAPI document served at /docs/json: valid against the OpenAPI schema, complete (every route the app
 * registered is in it), and every operation described with a summary, schemas with examples and its errors.
 */
describe("OpenAPI document", () => {
  let proxy: ProxyHarness;
  let document: OpenApiDocument;
  let resolved: JsonBody;
  let routes: AppRoute[];

  beforeAll(async () => {
    proxy = await ProxyHarness.start();
    document = (await (
      await fetch(`${proxy.baseUrl}/docs/json`)
    ).json()) as OpenApiDocument;
    resolved = (await SwaggerParser.dereference(
      structuredClone(document),
    )) as JsonBody;
    routes = registeredRoutes(proxy.app);
  });

  afterAll(async () => {
    await proxy.stop();
  });

  function operations(): [string, string, Operation][] {
    return Object.entries(
      resolved.paths as Record<string, Record<string, Operation>>,
    ).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map(
        (method) =>
          [method.toUpperCase(), path, item[method]] as [
            string,
            string,
            Operation,
          ],
      ),
    );
  }

  it("is valid against the OpenAPI schema", async () => {
    await expect(
      SwaggerParser.validate(structuredClone(document)),
    ).resolves.toBeDefined();
    expect(resolved.openapi).toMatch(/^3\./);
  });

  it("has every registered controller route, and nothing else", () => {
    expect(routes.length).toBeGreaterThan(40);
    const documented = operations()
      .map(([method, path]) => `${method} ${path}`)
      .sort();
    const registered = routes
      .map((route) => `${route.method} ${route.path}`)
      .sort();

    expect(documented).toEqual(registered);
  });

  it("gives every operation a unique operationId and a summary", () => {
    const ids = operations().map(([, , operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [method, path, operation] of operations()) {
      expect({ route: `${method} ${path}`, id: operation.operationId }).toEqual(
        {
          route: `${method} ${path}`,
          id: expect.stringMatching(/^[a-z][A-Za-z]+$/),
        },
      );
      expect(operation.summary?.trim().length ?? 0).toBeGreaterThan(3);
    }
  });

  it("declares both security schemes and uses them", () => {
    expect(resolved.components.securitySchemes).toMatchObject({
      admin: { type: "http", scheme: "bearer" },
      "client-token": { type: "http", scheme: "bearer" },
    });

    for (const [method, path, operation] of operations()) {
      const schemes = (operation.security ?? []).flatMap(Object.keys);
      const route = `${method} ${path}`;
      if (path.startsWith("/v1/")) {
        expect({ route, schemes }).toEqual({
          route,
          schemes: ["client-token"],
        });
      }
      if (schemes.includes("admin")) {
        expect({ route, errors: Object.keys(operation.responses) }).toEqual({
          route,
          errors: expect.arrayContaining(["401", "403"]),
        });
      }
    }

    const admin = operations().filter(([, path]) => path.startsWith("/api/"));
    const publicRoutes = admin
      .filter(
        ([, , operation]) =>
          !(operation.security ?? []).some((entry) => "admin" in entry),
      )
      .map(([method, path]) => `${method} ${path}`);
    expect(publicRoutes.sort()).toEqual(
      [
        "GET /api/auth/oidc/callback",
        "GET /api/auth/oidc/login",
        "POST /api/auth/login",
      ].sort(),
    );
  });

  it("describes request and response bodies with schemas and examples", () => {
    for (const [method, path, operation] of operations()) {
      const route = `${method} ${path}`;
      for (const [type, media] of Object.entries(
        operation.requestBody?.content ?? {},
      )) {
        expect({ route, type, example: hasExample(media.schema) }).toEqual({
          route,
          type,
          example: true,
        });
      }

      const success = Object.entries(operation.responses).filter(([status]) =>
        /^[23]/.test(status),
      );
      expect({ route, success: success.length > 0 }).toEqual({
        route,
        success: true,
      });
      for (const [status, response] of success) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          expect({
            route,
            status,
            type,
            example: hasExample(media.schema),
          }).toEqual({
            route,
            status,
            type,
            example: true,
          });
        }
      }
    }
  });

  it("documents the errors of every admin and proxy route", () => {
    for (const [method, path, operation] of operations()) {
      if (!path.startsWith("/api/") && !path.startsWith("/v1/")) continue;

      const errors = Object.entries(operation.responses).filter(([status]) =>
        /^[45]/.test(status),
      );
      const route = `${method} ${path}`;
      expect({ route, errors: errors.length > 0 }).toEqual({
        route,
        errors: true,
      });
      for (const [status, response] of errors) {
        const schema = response.content?.["application/json"]
          ?.schema as JsonBody;
        // Anthropic's error format, on the Messages API, has a type and a message but no code.
        const required = path.startsWith("/v1/messages")
          ? ["message", "type"]
          : ["message", "type", "code"];
        expect({
          route,
          status,
          error: schema?.properties?.error?.required,
        }).toEqual({
          route,
          status,
          error: expect.arrayContaining(required),
        });
      }
    }
  });

  it("serves Swagger UI at /docs", async () => {
    const response = await fetch(`${proxy.baseUrl}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(await response.text()).toContain("swagger-ui");
  });
});

/** Checks whether a schema, or any schema inside it, has an example. */
function hasExample(schema: unknown): boolean {
  if (typeof schema !== "object" || schema === null) {
    return false;
  }
  if ("example" in schema || "examples" in schema) {
    return true;
  }
  return Object.values(schema).some(hasExample);
}
