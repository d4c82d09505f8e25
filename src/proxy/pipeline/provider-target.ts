import { ProviderKind } from "../../providers/entities/provider.entity";
import { ResolvedModel } from "../../providers/model-resolver.service";
import { UpstreamRequest } from "../endpoint";

/** The `anthropic-version` header sent to Anthropic when the client did not choose one. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/** Destination of one upstream request: base URL, path with query, and headers with the credentials. */
export interface ProviderTarget {
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
}

/** Client headers passed on to Anthropic providers, because they select API behaviour rather than identity. */
export const FORWARDED_ANTHROPIC_HEADERS = [
  "anthropic-version",
  "anthropic-beta",
] as const;

/**
 * Applies a provider kind's URL scheme and authentication to a request an endpoint built. The key goes only into
 * the header the provider expects; nothing here is logged.
 */
export function providerTarget(
  model: ResolvedModel,
  request: UpstreamRequest,
  requestId: string,
): ProviderTarget {
  const provider = model.provider;
  const common = {
    "content-type": "application/json",
    "x-request-id": requestId,
  };

  switch (provider.kind) {
    case ProviderKind.Anthropic:
      return {
        baseUrl: provider.baseUrl,
        path: request.path,
        headers: {
          ...common,
          "anthropic-version": DEFAULT_ANTHROPIC_VERSION,
          ...request.headers,
          "x-api-key": provider.apiKey,
        },
      };

    case ProviderKind.Azure:
      return {
        baseUrl: provider.baseUrl,
        path: azurePath(request.path, model.upstreamName, provider.apiVersion),
        headers: { ...common, ...request.headers, "api-key": provider.apiKey },
      };

    case ProviderKind.OpenAi:
    case ProviderKind.Gemini:
      return {
        baseUrl: provider.baseUrl,
        path: request.path,
        headers: {
          ...common,
          ...request.headers,
          authorization: `Bearer ${provider.apiKey}`,
        },
      };
  }
}

/**
 * Azure's dated API names the deployment in the path and the version in the query; the Responses API is not
 * deployment-scoped. Without a version the provider is on Azure's v1 API, which is used like OpenAI's.
 */
function azurePath(
  path: string,
  deployment: string,
  apiVersion: string | null,
): string {
  if (apiVersion === null) {
    return path;
  }

  const version = `api-version=${encodeURIComponent(apiVersion)}`;
  if (path === "/responses" || path.startsWith("/responses/")) {
    return `/openai${path}?${version}`;
  }
  return `/openai/deployments/${encodeURIComponent(deployment)}${path}?${version}`;
}
