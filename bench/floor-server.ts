import Fastify from "fastify";
import { Pool } from "undici";

/**
 * The floor: a plain Fastify server that passes `POST /v1/chat/completions` through to the upstream with an
 * undici pool and pipes the answer back, with no authentication, accounting or parsing of the answer. No
 * gateway that does more per request can add less latency than this.
 */
async function main(): Promise<void> {
  const upstream = process.env.UPSTREAM_URL ?? "";
  const pool = new Pool(upstream, {
    connections: 128,
    keepAliveTimeout: 30_000,
  });
  const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });

  app.post("/v1/chat/completions", async (request, reply) => {
    const answer = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: request.headers.authorization ?? "",
      },
      body: JSON.stringify(request.body),
    });
    const contentType = answer.headers["content-type"];
    void reply
      .status(answer.statusCode)
      .header(
        "content-type",
        typeof contentType === "string" ? contentType : "application/json",
      );
    return reply.send(answer.body);
  });

  const address = await app.listen({
    host: "127.0.0.1",
    port: Number(process.env.PORT ?? 0),
  });
  process.stdout.write(
    `${JSON.stringify({ listening: Number(new URL(address).port) })}\n`,
  );
}

void main();
