import { IncomingHttpHeaders, ServerResponse } from "node:http";

import { TokenUsage } from "../billing/usage";
import { ProviderKind } from "../providers/entities/provider.entity";
import { ResolvedModel } from "../providers/model-resolver.service";
import { RelayOutcome } from "./openai/chat-stream-relay";
import { TokenEstimator } from "./token-estimator.service";

/** The error format a client expects, chosen by the endpoint it called. */
export type ClientDialect = "openai" | "anthropic";

/** Fields the pipeline reads from every parsed client request. Each endpoint extends it with its own fields. */
export interface ParsedRequest {
  /** Public model name the client sent. */
  model: string;
  stream: boolean;
}

/** Upper bounds on a request's input and output tokens. Admission reserves credit for them, and estimates stop at them. */
export interface TokenBounds {
  input: number;
  output: number;
}

/** Defaults the endpoint needs when the request leaves a limit open. */
export interface BoundsDefaults {
  /** Output limit when neither the request nor the model gives one. */
  defaultMaxOutputTokens: number;
  /** Tokens assumed for one image input. */
  imageTokenAllowance: number;
}

/**
 * The request to send upstream, in the provider's wire format, before provider-kind details are applied. `path`
 * is relative to an OpenAI-style base URL (`/chat/completions`, `/embeddings`, `/responses`, `/completions`) or
 * an Anthropic-style one (`/messages`, `/messages/count_tokens`); the pipeline turns it into the final URL and
 * adds authentication for the provider's kind (Bearer, `api-key`, `x-api-key`, Azure deployment URLs).
 */
export interface UpstreamRequest {
  path: string;
  /** JSON text. */
  body: string;
  /** Extra headers to forward, such as `anthropic-beta`. Never authentication. */
  headers?: Record<string, string>;
}

/** A non-streamed upstream response turned into the client's format. */
export interface JsonAnswer {
  /** JSON text sent to the client with status 200. */
  body: string;
  /** Usage the provider reported, or null when it reported none that is usable. */
  usage: TokenUsage | null;
  /** Generated text, for estimating output tokens when usage is null. */
  outputText: string;
}

/** Relays one upstream stream to the client, translating it where the formats differ. */
export interface StreamRelay {
  /** Reads the provider's body to its end, or until the client leaves or the body fails. Never throws. */
  run(body: AsyncIterable<Buffer>): Promise<RelayOutcome>;
}

/** Context a relay needs besides the request. */
export interface RelayContext {
  client: ServerResponse;
  signal: AbortSignal;
  /** Scrubbed from anything passed on to the client. */
  providerKey: string;
  requestId: string;
  model: ResolvedModel;
}

/**
 * One client-facing endpoint (`POST /v1/chat/completions`, `POST /v1/messages`, ...). The pipeline owns
 * authentication, routing, admission, retries, upstream calls and settlement; an endpoint owns everything that
 * depends on the wire format: validation, token bounds, the upstream body for each provider kind, reading usage
 * and translating answers and streams back to the client's format.
 *
 * Every method is synchronous apart from the relay and must not throw except `parse`, which throws a
 * `ProxyError` for invalid input, and `upstreamRequest`/`readJson`, which may throw a `ProxyError` when the
 * request or answer cannot be expressed in the other format.
 */
export interface ProxyEndpoint<R extends ParsedRequest = ParsedRequest> {
  /** Recorded as the request's endpoint, e.g. `chat.completions`, `messages`, `embeddings`. */
  readonly name: string;
  readonly dialect: ClientDialect;

  /**
   * Validates a parsed JSON body; throws a `ProxyError` naming the first invalid field. `headers` are the
   * client's, for endpoints that pass some on (such as `anthropic-beta`); never forward credentials from them.
   */
  parse(body: unknown, headers: IncomingHttpHeaders): R;

  /** Whether a provider of this kind can serve the request, directly or through translation. */
  supports(kind: ProviderKind, request: R): boolean;

  bounds(
    request: R,
    model: ResolvedModel,
    defaults: BoundsDefaults,
  ): TokenBounds;

  /** `askForUsage` is false for providers that reject `stream_options`; their stream usage is then estimated. */
  upstreamRequest(
    request: R,
    model: ResolvedModel,
    askForUsage: boolean,
  ): UpstreamRequest;

  /** Turns a 2xx JSON body into the client's format; returns null when the body is not a usable JSON object. */
  readJson(request: R, text: string, model: ResolvedModel): JsonAnswer | null;

  /** Content type and first headers are written by the pipeline; the relay writes events only. */
  streamRelay(request: R, context: RelayContext): StreamRelay;

  /** Writes the final error event of a stream the provider or the proxy cut short, in the client's format. */
  writeStreamError(
    client: ServerResponse,
    errorClass: string,
    message: string,
  ): void;

  /** Tokenizer count of the prompt, for settling requests whose provider reported no usage. */
  estimatePrompt(request: R, estimator: TokenEstimator): number;
}
