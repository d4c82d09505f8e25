import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020, { ValidateFunction } from "ajv/dist/2020";

import { JsonBody } from "./admin-api";

type Schema = Record<string, unknown>;

interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
}

interface Operation {
  method: string;
  path: string;
  parameters: Parameter[];
  hasBody: boolean;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface CallOptions {
  path?: Record<string, string | number>;
  query?: Record<string, string | number>;
  body?: unknown;
}

export interface CallResult<T = JsonBody> {
  status: number;
  body: T;
}

/**
 * A client for an API that uses nothing but its OpenAPI document: it finds operations by operationId, fills in
 * the documented path and query parameters, and checks every JSON response against the schema the document gives
 * for its status, so a response that strays from the document fails the call.
 */
export class OpenApiClient {
  private readonly ajv = new Ajv2020({
    strict: false,
    validateFormats: false,
    allErrors: true,
  });
  private readonly validators = new Map<Schema, ValidateFunction>();
  bearer: string | null = null;

  private constructor(
    private readonly baseUrl: string,
    private readonly operations: Map<string, Operation>,
  ) {}

  /** Fetches the document from `documentUrl` and resolves its references. */
  static async fromDocument(
    baseUrl: string,
    documentUrl: string,
  ): Promise<OpenApiClient> {
    const fetched = (await (await fetch(documentUrl)).json()) as Parameters<
      typeof SwaggerParser.dereference
    >[0];
    const document = (await SwaggerParser.dereference(fetched)) as unknown as {
      paths: Record<string, Record<string, Schema>>;
    };

    const operations = new Map<string, Operation>();
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const id = operation.operationId as string | undefined;
        if (!id) continue;
        operations.set(id, {
          method: method.toUpperCase(),
          path,
          parameters: (operation.parameters ?? []) as Parameter[],
          hasBody: operation.requestBody !== undefined,
          responses: operation.responses as Operation["responses"],
        });
      }
    }
    return new OpenApiClient(baseUrl, operations);
  }

  /** Calls an operation; throws when a documented parameter is missing or an undocumented one is passed. */
  async call<T = JsonBody>(
    operationId: string,
    options: CallOptions = {},
  ): Promise<CallResult<T>> {
    const operation = this.operations.get(operationId);
    if (!operation) {
      throw new Error(`The document has no operation '${operationId}'`);
    }

    const url = new URL(this.baseUrl + this.fillPath(operation, options.path));
    for (const [name, value] of Object.entries(options.query ?? {})) {
      this.expectParameter(operation, name, "query");
      url.searchParams.set(name, String(value));
    }
    if (options.body !== undefined && !operation.hasBody) {
      throw new Error(`${operationId} takes no request body`);
    }

    const response = await fetch(url, {
      method: operation.method,
      headers: {
        ...(this.bearer ? { authorization: `Bearer ${this.bearer}` } : {}),
        ...(options.body !== undefined
          ? { "content-type": "application/json" }
          : {}),
      },
      body:
        options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    const body = text ? (JSON.parse(text) as T) : (null as T);

    this.checkAnswer(operationId, operation, response.status, body);
    return { status: response.status, body };
  }

  private fillPath(
    operation: Operation,
    values: Record<string, string | number> = {},
  ): string {
    return operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
      this.expectParameter(operation, name, "path");
      if (values[name] === undefined) {
        throw new Error(`Path parameter '${name}' is required`);
      }
      return encodeURIComponent(String(values[name]));
    });
  }

  private expectParameter(
    operation: Operation,
    name: string,
    where: Parameter["in"],
  ): void {
    if (!operation.parameters.some((p) => p.name === name && p.in === where)) {
      throw new Error(
        `${operation.method} ${operation.path} documents no ${where} parameter '${name}'`,
      );
    }
  }

  private checkAnswer(
    operationId: string,
    operation: Operation,
    status: number,
    body: unknown,
  ): void {
    const documented = operation.responses[String(status)];
    if (!documented) {
      throw new Error(
        `${operationId} answered ${status}, which the document does not list`,
      );
    }

    const schema = documented.content?.["application/json"]?.schema;
    if (!schema) return;
    let validate = this.validators.get(schema);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.validators.set(schema, validate);
    }
    if (!validate(body)) {
      throw new Error(
        `${operationId} answered ${status} with a body the document does not allow: ${this.ajv.errorsText(validate.errors)}`,
      );
    }
  }
}
