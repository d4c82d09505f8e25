import { existsSync, readFileSync } from "node:fs";

import { Report, REPORT_PATH, writePage } from "./report";

/**
 * Writes BENCHMARKS.md again from the measurements of the last `npm run bench` (`bench/results.json`) and the current
 * `bench/NOTES.md`, so that edits to the notes reach the page without measuring again. Another report file can be
 * passed as the first argument.
 *
 *   npm run bench:render
 */
async function main(): Promise<void> {
  const reportPath = process.argv[2] ?? REPORT_PATH;
  if (!existsSync(reportPath)) {
    throw new Error(
      `${reportPath} not found: run \`npm run bench\` first, which writes it`,
    );
  }
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;
  await writePage(report);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
