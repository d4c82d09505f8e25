import { Writable } from "node:stream";

/** Byte sequences of Anthropic streams for relay tests, as the API and its SDK's fixtures document them. */

/** The streaming example of the Messages API reference, with 5-minute cache writes and cache reads. */
export const CACHED_STREAM =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":40,"cache_creation_input_tokens":1800,"cache_read_input_tokens":9000,"cache_creation":{"ephemeral_5m_input_tokens":1800,"ephemeral_1h_input_tokens":0},"output_tokens":1}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: ping\ndata: {"type": "ping"}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":310}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** The tool-use stream recorded in the Anthropic TypeScript SDK's test fixtures. */
export const TOOL_STREAM =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_019Q1hrJbZG26Fb9BQhrkHEr","type":"message","role":"assistant","model":"claude-opus-4-8","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":377,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
  'event: ping\ndata: {"type": "ping"}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I"}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\'ll check the current weather in Paris for you."}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
  'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","input":{}}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"locati"}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\\": \\"P"}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ar"}}\n\n' +
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\\"}"}}\n\n' +
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n' +
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":65}}\n\n' +
  'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** A real writable standing in for the client's response; it keeps what the relay wrote. */
export class Capture extends Writable {
  text = "";

  override _write(
    chunk: Buffer,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.text += chunk.toString("utf8");
    callback();
  }
}

/** Yields `text` as a provider body in pieces of `pieceSize` bytes, then throws `failure` if given. */
export async function* bodyOf(
  text: string,
  pieceSize?: number,
  failure?: Error,
): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, "utf8");
  const size = pieceSize ?? bytes.length;
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
  if (failure) {
    throw failure;
  }
}

/** An OpenAI chat stream with `include_usage`: role chunk, two text deltas, finish chunk, usage chunk, `[DONE]`. */
export const OPENAI_TEXT_STREAM =
  'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"a1"}\n\n' +
  'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":1500,"completion_tokens":40,"total_tokens":1540,"prompt_tokens_details":{"cached_tokens":1280}}}\n\n' +
  "data: [DONE]\n\n";

/** An OpenAI chat stream with text, then two tool calls whose arguments arrive in fragments. */
export const OPENAI_TOOL_STREAM =
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":"Checking."},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":"}}]},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}\n\n' +
  'data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1760000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":90,"completion_tokens":30,"total_tokens":120}}\n\n' +
  "data: [DONE]\n\n";
