import "reflect-metadata";

import { bootLogger, createApp } from "./bootstrap";
import { loadConfig } from "./config/load-config";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);

  await app.listen(config.server.port, config.server.host);
  bootLogger.log({ msg: "llm-proxy listening", url: await app.getUrl(), database: config.database.url ? "postgresql" : config.database.sqlitePath });
}

main().catch((error: unknown) => {
  bootLogger.error({ msg: "llm-proxy failed to start", err: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
