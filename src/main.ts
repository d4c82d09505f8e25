import "reflect-metadata";

import { setFlagsFromString } from "node:v8";

import { bootLogger, createApp } from "./bootstrap";
import { loadConfig } from "./config/load-config";

async function main(): Promise<void> {
  const config = loadConfig();

  // Under load V8 lets the old generation grow to about four times what survives a full collection, nearly all of
  // it finished requests' garbage. A smaller growth factor keeps resident memory near the live set for a few
  // percent more time in the collector. V8 reads this flag whenever it sets the next limit, so it takes effect
  // though the engine is already running.
  if (config.server.heapGrowingPercent > 0) {
    setFlagsFromString(
      `--heap-growing-percent=${config.server.heapGrowingPercent}`,
    );
  }

  const app = await createApp(config);

  // On SIGTERM or SIGINT the server stops accepting connections, lets in-flight requests finish and write their
  // records (up to server.shutdownGraceMs), closes the database and exits with 0.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      bootLogger.log({ msg: "shutting down", signal });
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          bootLogger.error({
            msg: "shutdown failed",
            err: error instanceof Error ? error.message : String(error),
          });
          process.exit(1);
        },
      );
    });
  }

  await app.listen(config.server.port, config.server.host);
  bootLogger.log({
    msg: "llm-proxy listening",
    url: await app.getUrl(),
    database: config.database.url ? "postgresql" : config.database.sqlitePath,
  });
}

main().catch((error: unknown) => {
  bootLogger.error({
    msg: "llm-proxy failed to start",
    err: error instanceof Error ? error.message : String(error),
  });
  process.exit(1);
});
