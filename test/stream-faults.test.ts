import { APIError } from "openai";

import { ReservationSweeper } from "../src/billing/reservation-sweeper.service";
import { BillingMode } from "../src/providers/entities/provider.entity";
import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";

interface RequestRow {
  status: string;
  error_class: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  usage_estimated: number;
  cost: string;
}

/**
 * Streams that end badly: the client hangs up, the provider dies, sends an error event or goes silent. Each
 * must end with exactly one record, charged for what was generated, and no credit left on hold.
 */
describe("stream faults", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;
  let providerId: number;
  let clientId: number;
  let token: string;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({ proxy: { bodyIdleTimeoutMs: 400 } });
    ({ providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "50.00",
    }));
    ({ clientId, token } = await proxy.seedClient());
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  /** Waits until the request's record is written; records are written after the stream ends. */
  async function recordOf(requestId: string): Promise<RequestRow> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const rows = await proxy.query<RequestRow>(
        `select status, error_class, prompt_tokens, completion_tokens, usage_estimated, cast(cost as text) as cost
         from llm_requests where request_id = ?`,
        [requestId],
      );
      if (rows.length > 0) {
        expect(rows).toHaveLength(1);
        return rows[0];
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no record for ${requestId}`);
  }

  async function expectSettled(requestId: string, cost: string) {
    const [ledger] = await proxy.query<{ n: number; amount: string | null }>(
      "select count(*) as n, cast(sum(amount) as text) as amount from balance_transactions where request_id = ?",
      [requestId],
    );
    const state = await proxy.snapshot(providerId, clientId);
    expect(state.reserved).toBe(0n);
    expect(ledger.n).toBe(cost === "0" ? 0 : 1);
    if (cost !== "0") {
      expect(ledger.amount).toBe(`-${cost}`);
    }
  }

  function startStream(requestId: string) {
    return proxy.openai(token, { requestId }).chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "Tell me a long story" }],
    });
  }

  it("charges a client that hangs up for what was generated", async () => {
    upstream.script({
      content: Array.from({ length: 40 }, (_, index) => `word${index} `),
      chunkGapMs: 30,
    });
    const requestId = "client-hangs-up";

    const stream = await startStream(requestId);
    let received = "";
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta?.content ?? "";
      if (received.includes("word2 ")) {
        stream.controller.abort();
        break;
      }
    }
    await upstream.waitForClientAbort();

    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("client_closed");
    expect(record.usage_estimated).toBe(1);
    expect(record.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(record.completion_tokens).toBeLessThan(40 * 3);
    expect(record.prompt_tokens).toBeGreaterThan(0);
    expect(BigInt(record.cost) > 0n).toBe(true);
    await expectSettled(requestId, record.cost);
  });

  it("charges a stream the provider drops midway", async () => {
    upstream.script({
      content: ["one ", "two ", "three ", "four"],
      dieAfterEvents: 2,
      chunkGapMs: 10,
    });
    const requestId = "upstream-dies";

    const stream = await startStream(requestId);
    let received = "";
    const failure = await (async () => {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta?.content ?? "";
      }
    })().catch((error: unknown) => error);

    expect(received).toBe("one two ");
    expect(failure).toBeInstanceOf(APIError);
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_stream_broken");
    expect(record.usage_estimated).toBe(1);
    // o200k_base counts "one two " as 3 tokens.
    expect(record.completion_tokens).toBe(3);
    await expectSettled(requestId, record.cost);
  });

  it("completes a stream that ends cleanly without [DONE]", async () => {
    upstream.script({ content: ["all ", "there"], omitDone: true });
    const requestId = "no-done";

    const stream = await startStream(requestId);
    let received = "";
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta?.content ?? "";
    }

    expect(received).toBe("all there");
    const record = await recordOf(requestId);
    expect(record.status).toBe("completed");
    expect(record.error_class).toBeNull();
    expect(record.usage_estimated).toBe(0);
    await expectSettled(requestId, record.cost);
  });

  it("passes a mid-stream error event on", async () => {
    upstream.script({
      content: ["partial ", "answer ", "lost"],
      errorEventAfter: 2,
      error: {
        message: "The server had an error while processing your request.",
        type: "server_error",
      },
    });
    const requestId = "error-event";

    const stream = await startStream(requestId);
    const failure = await (async () => {
      for await (const chunk of stream) {
        void chunk;
      }
    })().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toContain("The server had an error");
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_error_event");
    await expectSettled(requestId, record.cost);
  });

  it("charges nothing for an error before any output", async () => {
    upstream.script({
      errorEventAfter: 0,
      error: { message: "Overloaded", type: "server_error" },
    });
    const requestId = "error-before-output";

    const stream = await startStream(requestId);
    await (async () => {
      for await (const chunk of stream) {
        void chunk;
      }
    })().catch(() => undefined);

    const record = await recordOf(requestId);
    expect(record.status).toBe("failed");
    expect(record.cost).toBe("0");
    await expectSettled(requestId, "0");
  });

  it("times out a provider that goes silent midway", async () => {
    upstream.script({
      content: ["still ", "here ", "gone"],
      hangAfterEvents: 2,
    });
    const requestId = "upstream-silent";

    const stream = await startStream(requestId);
    const failure = await (async () => {
      for await (const chunk of stream) {
        void chunk;
      }
    })().catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(APIError);
    const record = await recordOf(requestId);
    expect(record.status).toBe("incomplete");
    expect(record.error_class).toBe("upstream_timeout");
    await expectSettled(requestId, record.cost);
  });

  it("charges the prompt when the client leaves before the answer", async () => {
    upstream.script({ delayMs: 2000 });
    const controller = new AbortController();
    const requestId = "leaves-before-answer";

    const pending = proxy.openai(token, { requestId }).chat.completions.create(
      {
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Tell me a long story" }],
      },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 300);
    await pending.catch(() => undefined);

    const record = await recordOf(requestId);
    expect(record.status).toBe("failed");
    expect(record.error_class).toBe("client_closed");
    expect(record.usage_estimated).toBe(1);
    expect(record.prompt_tokens).toBeGreaterThan(0);
    expect(record.completion_tokens).toBe(0);
    expect(BigInt(record.cost) > 0n).toBe(true);
    await expectSettled(requestId, record.cost);
  });
});

describe("long streams", () => {
  let upstream: OpenAiUpstream;
  let proxy: ProxyHarness;

  beforeAll(async () => {
    upstream = await OpenAiUpstream.start();
    proxy = await ProxyHarness.start({ billing: { reservationTtlMs: 1500 } });
  });

  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it("keep their hold past the reservation lifetime", async () => {
    const { providerId } = await proxy.seedProvider({
      baseUrl: upstream.baseUrl,
      billing: BillingMode.Prepaid,
      balance: "5.00",
    });
    const { clientId, token } = await proxy.seedClient();
    upstream.script({
      content: Array.from({ length: 20 }, (_, index) => `${index} `),
      chunkGapMs: 200,
    });

    const stream = await proxy
      .openai(token, { requestId: "long-stream" })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "count slowly" }],
      });
    const reading = (async () => {
      for await (const chunk of stream) {
        void chunk;
      }
    })();

    await new Promise((resolve) => setTimeout(resolve, 2500));
    const voided = await proxy.app.get(ReservationSweeper).sweep(new Date());
    const [hold] = await proxy.query<{ status: string }>(
      "select status from credit_reservations where request_id = 'long-stream'",
    );
    await reading;

    const after = await proxy.snapshot(providerId, clientId);
    const [row] = await proxy.query<{ shortfall: string }>(
      "select cast(credit_shortfall as text) as shortfall from llm_requests where request_id = 'long-stream'",
    );
    expect(voided).toBe(0);
    expect(hold.status).toBe("pending");
    expect(after.reserved).toBe(0n);
    expect(row.shortfall).toBe("0");
  });
});
