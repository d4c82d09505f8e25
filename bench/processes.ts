import { ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A server the benchmark started, pinned to one core, and the port it listens on. */
export interface Started {
  child: ChildProcess;
  port: number;
  logPath: string;
}

const START_TIMEOUT_MS = 60_000;

/**
 * Starts `node ARGS` pinned to `core` with `taskset`, sends its output to `logPath`, and resolves once a line of
 * the output matches `ready` (whose first group is the port).
 */
export async function startPinned(
  core: number,
  args: string[],
  options: {
    env?: Record<string, string>;
    cwd?: string;
    logPath: string;
    ready: RegExp;
  },
): Promise<Started> {
  const log = openSync(options.logPath, "w");
  const child = spawn(
    "taskset",
    ["-c", String(core), process.execPath, ...args],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", log, log],
    },
  );
  closeSync(log);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `${args.join(" ")} exited with ${child.exitCode}:\n${tail(options.logPath)}`,
      );
    }
    const match = options.ready.exec(readFileSync(options.logPath, "utf8"));
    if (match) {
      return { child, port: Number(match[1]), logPath: options.logPath };
    }
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(
    `${args.join(" ")} did not start in time:\n${tail(options.logPath)}`,
  );
}

/** Sends SIGTERM and waits for the exit, at most 30 s, then SIGKILL. */
export async function stop(started: Started | null): Promise<void> {
  if (!started || started.child.exitCode !== null) {
    return;
  }
  const exited = new Promise((resolve) => started.child.once("exit", resolve));
  started.child.kill("SIGTERM");
  const timer = setTimeout(() => started.child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

/** Runs `node ARGS` to completion and returns its standard output; throws on a non-zero exit. */
export function runNode(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; core?: number },
): Promise<string> {
  const command = options.core === undefined ? process.execPath : "taskset";
  const commandArgs =
    options.core === undefined
      ? args
      : ["-c", String(options.core), process.execPath, ...args];
  const child = spawn(command, commandArgs, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (data: Buffer) => (out += data.toString()));
  child.stderr.on("data", (data: Buffer) => (err += data.toString()));

  return new Promise((resolve, reject) => {
    child.once("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(`${args.join(" ")} failed (${code}):\n${err}${out}`),
          ),
    );
  });
}

/** Peak and current resident memory of a process, in MiB, from /proc. */
export function memoryOf(pid: number): { peakMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) /
    1024;
  return { peakMiB: field("VmHWM"), rssMiB: field("VmRSS") };
}

function tail(path: string): string {
  return readFileSync(path, "utf8").split("\n").slice(-30).join("\n");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the upstream stand-in pinned to `core`. It is the measuring instrument, so it runs without V8's memory
 * reducer, whose pauses would add noise to every target's figures alike.
 */
export function startStandIn(core: number, logPath: string): Promise<Started> {
  return startPinned(
    core,
    [
      "--no-memory-reducer",
      "-r",
      "ts-node/register/transpile-only",
      join(__dirname, "upstream-standin.ts"),
    ],
    { cwd: join(__dirname, ".."), logPath, ready: /"listening":(\d+)/ },
  );
}
