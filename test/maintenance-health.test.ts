import { statSync } from "node:fs";

import { EntityManager } from "@mikro-orm/knex";
import { MikroORM } from "@mikro-orm/core";
import { Logger } from "@nestjs/common";

import { WriteTransactionRunner } from "../src/database/write-transaction";
import {
  DatabaseHealthReport,
  DatabaseHealthService,
} from "../src/maintenance/database-health.service";
import { redactSql } from "../src/maintenance/slow-query-logger.service";
import { MetricsService } from "../src/metrics/metrics.service";
import { jobSettings, meter, seedTarget } from "./maintenance-fixtures";
import { ProxyHarness } from "./support/proxy-harness";
import { onlyOn, TEST_DIALECT } from "./support/test-database";

/** A statement that takes a while on either dialect and carries a secret-looking literal and a number. */
const SLOW_SQL =
  TEST_DIALECT === "sqlite"
    ? "with recursive counter(x) as (select 1 union all select x + 1 from counter where x < ?) select count(*) as n, 'lpx_NotARealSecret' as marker from counter"
    : "select pg_sleep(?::float / 10000000), 'lpx_NotARealSecret' as marker";

describe("database health", () => {
  let proxy: ProxyHarness;
  let report: DatabaseHealthReport;

  beforeAll(async () => {
    proxy = await ProxyHarness.start({
      database: { slowQueryMs: 20 },
      maintenance: { jobs: jobSettings() },
    });
    const target = await seedTarget(proxy);
    for (let index = 0; index < 3; index++) {
      await meter(proxy, target, {
        requestId: `health-${index}`,
        createdAt: new Date(),
        cost: 1_000n,
      });
    }
    report = await proxy.app.get(DatabaseHealthService).report();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await proxy.stop();
  });

  it("counts rows of each table", async () => {
    for (const table of ["llm_requests", "clients", "balance_transactions"]) {
      const [counted] = await proxy.query<{ n: number }>(
        `select count(*) as n from ${table}`,
      );
      const reported = report.tables.find((entry) => entry.table === table);
      expect(reported?.rows).toBe(counted.n);
    }
  });

  it("reports table sizes", async () => {
    const requests = report.tables.find(
      (entry) => entry.table === "llm_requests",
    );

    expect(requests?.bytes).toBeGreaterThan(0);
  });

  it("lists the project's indexes", async () => {
    const names = report.indexes.map((entry) => entry.index);

    expect(names).toEqual(
      expect.arrayContaining([
        "llm_requests_client_time_idx",
        "usage_daily_key_unique",
      ]),
    );
  });

  onlyOn("sqlite")("says index usage is unknown", async () => {
    expect(report.indexUsageNote).toMatch(/no index usage statistics/);
    expect(report.indexes.every((entry) => entry.scans === null)).toBe(true);
  });

  onlyOn("postgresql")("reports index scans", async () => {
    expect(report.indexUsageNote).toBeNull();
    expect(
      report.indexes.every((entry) => typeof entry.scans === "number"),
    ).toBe(true);
  });

  onlyOn("sqlite")("reports the WAL file size", async () => {
    const path = `${proxy.config.database.sqlitePath}-wal`;

    const wal = await proxy.app.get(DatabaseHealthService).wal();

    expect(wal.bytes).toBe(statSync(path).size);
  });

  onlyOn("postgresql")("reports the WAL position", async () => {
    expect(report.wal.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  });

  it("reports the connection pool", async () => {
    const expectedMax =
      TEST_DIALECT === "sqlite" ? 1 : proxy.config.database.poolMax;

    expect(report.pool?.max).toBe(expectedMax);
  });

  it("has no ANALYZE before the job runs", async () => {
    expect(report.lastAnalyzeJobAt).toBeNull();
  });

  it("exports table rows and WAL size", async () => {
    const [counted] = await proxy.query<{ n: number }>(
      "select count(*) as n from llm_requests",
    );

    const metrics = await proxy.app.get(MetricsService).render();

    expect(metrics).toContain(
      `llmp_db_table_rows{table="llm_requests"} ${counted.n}\n`,
    );
    expect(metrics).toMatch(/^llmp_db_wal_bytes \d+$/m);
  });

  it("logs slow statements without values", async () => {
    const warn = jest.spyOn(Logger.prototype, "warn");
    const connection = (
      proxy.app.get(MikroORM).em as EntityManager
    ).getConnection();

    await connection.execute(SLOW_SQL, [1_000_000]);

    const logged = await slowLine(warn, "marker");
    warn.mockRestore();
    expect(logged?.durationMs).toBeGreaterThanOrEqual(20);
    expect(logged?.sql).not.toContain("lpx_NotARealSecret");
    expect(logged?.sql).not.toContain("1000000");

    const listed = (
      await proxy.app.get(DatabaseHealthService).report()
    ).slowQueries.find((query) => query.sql.includes("marker"));
    expect(listed?.durationMs).toBeGreaterThanOrEqual(20);
    expect(listed?.sql).not.toContain("lpx_NotARealSecret");
    expect(Number.isNaN(Date.parse(listed?.at ?? ""))).toBe(false);
  });

  onlyOn("sqlite")("logs slow hand-written statements", async () => {
    const warn = jest.spyOn(Logger.prototype, "warn");

    await proxy.app
      .get(WriteTransactionRunner)
      .run((tx) => tx.all(SLOW_SQL, [1_000_000]));

    const logged = await slowLine(warn, "marker");
    warn.mockRestore();
    expect(logged?.sql).toContain("counter");
  });
});

interface SlowLine {
  msg?: string;
  sql?: string;
  durationMs?: number;
}

/**
 * Waits up to two seconds for the first slow-statement line that contains `marker`, because SQLite reports a
 * statement's time after its result.
 */
async function slowLine(
  warn: jest.SpyInstance,
  marker: string,
): Promise<SlowLine | undefined> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const line = warn.mock.calls
      .map((call) => call[0] as SlowLine)
      .find(
        (entry) =>
          entry.msg === "slow database statement" &&
          entry.sql?.includes(marker),
      );
    if (line) {
      return line;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

describe("statement redaction", () => {
  it.each([
    [
      "select * from t where hash = 'abc''def'",
      "select * from t where hash = ?",
    ],
    [
      "insert into t values (X'00ff', 12, 3.5e2)",
      "insert into t values (?, ?, ?)",
    ],
    [
      "select cache_write_1h_price from t where id = $1",
      "select cache_write_1h_price from t where id = $1",
    ],
    ['select "col2" from t limit 10', 'select "col2" from t limit ?'],
  ])("redacts %s", (sql, expected) => {
    expect(redactSql(sql)).toBe(expected);
  });
});
