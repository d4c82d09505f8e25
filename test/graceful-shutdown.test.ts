import { rmSync } from "node:fs";

import { OpenAiUpstream } from "./support/openai-upstream";
import { ProxyHarness } from "./support/proxy-harness";
import { DatabaseReader, dropPostgresDatabase } from "./support/test-database";

/** Shutdown lets a stream in flight finish and writes its record before the database closes. */
describe("graceful shutdown", () => {
  it("finishes in-flight streams and their records", async () => {
    const upstream = await OpenAiUpstream.start();
    const proxy = await ProxyHarness.start();
    await proxy.seedProvider({ baseUrl: upstream.baseUrl });
    const { token } = await proxy.seedClient();
    upstream.script({
      content: Array.from({ length: 10 }, (_, index) => `${index} `),
      chunkGapMs: 60,
    });

    const stream = await proxy
      .openai(token, { requestId: "in-flight" })
      .chat.completions.create({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "count" }],
      });
    const reading = (async () => {
      let text = "";
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? "";
      }
      return text;
    })();

    await new Promise((resolve) => setTimeout(resolve, 150));
    await proxy.stop({ keepFiles: true });

    expect(await reading).toBe("0 1 2 3 4 5 6 7 8 9 ");
    const reader = await DatabaseReader.open(proxy);
    const rows = await reader.query<{ status: string }>(
      "select status from llm_requests where request_id = 'in-flight'",
    );
    await reader.close();
    expect(rows).toEqual([{ status: "completed" }]);

    rmSync(proxy.folder, { recursive: true, force: true });
    if (proxy.databaseUrl) {
      await dropPostgresDatabase(proxy.databaseUrl);
    }
    await upstream.stop();
  });
});
