import { useState } from "react";

import {
  api,
  DatabaseHealth,
  JobRun,
  JobStatus,
  List,
  Page,
  query,
  RunReport,
} from "../api";
import { ActionError, Loadable, TableBox } from "../components";
import { bytes, count, time } from "../format";
import { useAction, useApi } from "../hooks";
import { useSession } from "../session";
import { Pager } from "./ProviderDetail";

/** Maintenance jobs and their runs, reconciliation drift, and database health. */
export function OperationsPage() {
  const jobs = useApi<List<JobStatus>>("/api/jobs");
  const [cursors, setCursors] = useState<string[]>([]);
  const runs = useApi<Page<JobRun>>(
    `/api/jobs/runs${query({ limit: 20, cursor: cursors[cursors.length - 1] })}`,
  );
  const reconcile = useApi<Page<JobRun>>(
    `/api/jobs/runs${query({ job: "reconcile", limit: 5 })}`,
  );
  const health = useApi<DatabaseHealth>("/api/database/health");
  const { canOperate } = useSession();
  const action = useAction();
  const [report, setReport] = useState<RunReport | null>(null);

  const runNow = async (job: string) => {
    const result = await action.run(() =>
      api<RunReport>("POST", `/api/jobs/${job}/run`, {}),
    );
    if (result !== null) {
      setReport(result);
      jobs.reload();
      setCursors([]);
      runs.reload();
      reconcile.reload();
      health.reload();
    }
  };

  return (
    <>
      <h1>Operations</h1>
      <section aria-labelledby="jobs-heading">
        <h2 id="jobs-heading">Jobs</h2>
        <ActionError error={action.error} />
        {report ? (
          <p role="status" data-testid="run-report">
            {report.job}:{" "}
            {report.status === "skipped"
              ? `skipped, ${report.reason ?? "another run holds the lease"}`
              : `run ${report.runId} ${report.outcome}, ${count(report.rowsAffected ?? 0)} rows`}
          </p>
        ) : null}
        <Loadable
          resource={jobs}
          label="jobs"
          isEmpty={(d) => d.items.length === 0}
        >
          {(data) => (
            <TableBox label="Jobs">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  {canOperate ? <th scope="col">Action</th> : null}
                </tr>
              </thead>
              <tbody>
                {data.items.map((job) => (
                  <tr key={job.job}>
                    <td>{job.job}</td>
                    <td>
                      {job.enabled ? <code>{job.cron}</code> : "disabled"}
                    </td>
                    <td>{time(job.nextRunAt)}</td>
                    <td>
                      {job.lastRun
                        ? `${job.lastRun.outcome}, ${time(job.lastRun.startedAt)}`
                        : "never"}
                    </td>
                    {canOperate ? (
                      <td>
                        <button
                          type="button"
                          disabled={action.busy}
                          onClick={() => void runNow(job.job)}
                        >
                          Run {job.job} now
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </TableBox>
          )}
        </Loadable>
      </section>

      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Recent runs</h2>
        <Loadable
          resource={runs}
          label="job runs"
          isEmpty={(d) => d.items.length === 0}
          empty="No job has run yet."
        >
          {(page) => (
            <>
              <RunTable runs={page.items} label="Recent runs" />
              <Pager
                hasPrevious={cursors.length > 0}
                nextCursor={page.nextCursor}
                onPrevious={() => setCursors(cursors.slice(0, -1))}
                onNext={(next) => setCursors([...cursors, next])}
              />
            </>
          )}
        </Loadable>
      </section>

      <section aria-labelledby="drift-heading">
        <h2 id="drift-heading">Reconciliation drift</h2>
        <Loadable
          resource={reconcile}
          label="reconciliation runs"
          isEmpty={(d) => d.items.length === 0}
          empty="Reconciliation has not run yet."
        >
          {(page) => <RunTable runs={page.items} label="Reconciliation runs" />}
        </Loadable>
      </section>

      <section aria-labelledby="health-heading">
        <h2 id="health-heading">Database health</h2>
        <Loadable resource={health} label="database health">
          {(data) => <HealthView health={data} />}
        </Loadable>
      </section>
    </>
  );
}

function RunTable(props: { runs: JobRun[]; label: string }) {
  return (
    <TableBox label={props.label}>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Job</th>
          <th scope="col">Started</th>
          <th scope="col">Finished</th>
          <th scope="col">Outcome</th>
          <th scope="col">Rows</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {props.runs.map((run) => (
          <tr key={run.id}>
            <td>{run.id}</td>
            <td>{run.job}</td>
            <td>{time(run.startedAt)}</td>
            <td>
              {run.finishedAt === null ? "running" : time(run.finishedAt)}
            </td>
            <td>
              <span className={`badge ${run.outcome}`}>{run.outcome}</span>
            </td>
            <td className="num">{count(run.rowsAffected)}</td>
            <td>
              <code className="json">
                {run.detail === null ? "" : JSON.stringify(run.detail)}
              </code>
            </td>
          </tr>
        ))}
      </tbody>
    </TableBox>
  );
}

function HealthView(props: { health: DatabaseHealth }) {
  const { health } = props;
  return (
    <>
      <p>
        {health.dialect}; last ANALYZE job: {time(health.lastAnalyzeJobAt)};
        queries slower than {count(health.slowQueryMs)} ms are logged as slow
        queries
        {health.pool
          ? `; pool ${health.pool.used} used, ${health.pool.free} free of ${health.pool.max}, ${health.pool.pendingAcquires} waiting`
          : ""}
        ; WAL {bytes(health.wal.bytes)}
        {health.wal.note ? ` (${health.wal.note})` : ""}.
      </p>
      <TableBox label="Tables">
        <thead>
          <tr>
            <th scope="col">Table</th>
            <th scope="col">Rows</th>
            <th scope="col">Size</th>
            <th scope="col">Last analyzed</th>
          </tr>
        </thead>
        <tbody>
          {health.tables.map((table) => (
            <tr key={table.table}>
              <td>{table.table}</td>
              <td className="num">
                {count(table.rows)}
                {table.rowsEstimated ? " (estimated)" : ""}
              </td>
              <td className="num">{bytes(table.bytes)}</td>
              <td>
                {table.lastAnalyzedAt === null
                  ? "never"
                  : time(table.lastAnalyzedAt)}
              </td>
            </tr>
          ))}
        </tbody>
      </TableBox>
      <h3>Index use</h3>
      {health.indexUsageNote ? (
        <p className="hint">{health.indexUsageNote}</p>
      ) : null}
      <TableBox label="Indexes">
        <thead>
          <tr>
            <th scope="col">Table</th>
            <th scope="col">Index</th>
            <th scope="col">Scans</th>
            <th scope="col">Tuples read</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {health.indexes.map((index) => (
            <tr key={`${index.table}.${index.index}`}>
              <td>{index.table}</td>
              <td>{index.index}</td>
              <td className="num">
                {index.scans === null ? "unknown" : count(index.scans)}
              </td>
              <td className="num">
                {index.tuplesRead === null
                  ? "unknown"
                  : count(index.tuplesRead)}
              </td>
              <td className="num">{bytes(index.bytes)}</td>
            </tr>
          ))}
        </tbody>
      </TableBox>
      <TableBox label="Slow queries (this replica, newest first)">
        <thead>
          <tr>
            <th scope="col">Finished</th>
            <th scope="col">Duration</th>
            <th scope="col">Statement</th>
          </tr>
        </thead>
        <tbody>
          {health.slowQueries.length === 0 ? (
            <tr>
              <td colSpan={3}>No slow queries since this replica started.</td>
            </tr>
          ) : (
            health.slowQueries.map((query, index) => (
              <tr key={`${query.at}-${index}`}>
                <td>{time(query.at)}</td>
                <td className="num">{count(query.durationMs)} ms</td>
                <td>
                  <code className="json">{query.sql}</code>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </TableBox>
    </>
  );
}
