import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/**
 * The real entry point (`src/main.ts`) running as a child process, as an operator runs it. Everything it prints
 * is kept for inspection.
 */
export class ServerProcess {
  private output_ = "";

  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
  ) {}

  /** Starts a server with these environment variables on a free port and waits until it listens. */
  static async start(
    env: Record<string, string>,
    timeoutMs = 60_000,
  ): Promise<ServerProcess> {
    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "src/main.ts"],
      {
        cwd: join(__dirname, "..", ".."),
        env: {
          ...process.env,
          TS_NODE_PROJECT: "tsconfig.json",
          PORT: "0",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    const collect = (data: Buffer) => (output += data.toString());
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);

    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${output}`)),
        timeoutMs,
      );
      const poll = setInterval(() => {
        const match = /"msg":"llm-proxy listening","url":"([^"]+)"/.exec(
          output,
        );
        if (match || child.exitCode !== null) {
          clearInterval(poll);
          clearTimeout(timer);
          if (match) {
            resolve(match[1]);
          } else {
            reject(
              new Error(`server exited with ${child.exitCode}:\n${output}`),
            );
          }
        }
      }, 50);
    });

    const server = new ServerProcess(child, baseUrl);
    child.stdout.off("data", collect);
    child.stderr.off("data", collect);
    server.output_ = output;
    child.stdout.on(
      "data",
      (data: Buffer) => (server.output_ += data.toString()),
    );
    child.stderr.on(
      "data",
      (data: Buffer) => (server.output_ += data.toString()),
    );
    return server;
  }

  /** Everything the process printed so far. */
  get output(): string {
    return this.output_;
  }

  /** Sends a signal and resolves with the exit code once the process exits. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode !== null) {
      return this.child.exitCode;
    }
    const exited = new Promise<number | null>((resolve) =>
      this.child.once("exit", (code) => resolve(code)),
    );
    this.child.kill(signal);
    return exited;
  }
}

/** Environment that points a server process at a harness's database, secrets and a spool folder of its own. */
export function serverEnv(
  target: { folder: string; databaseUrl: string | null },
  spoolName: string,
): Record<string, string> {
  return {
    DATABASE_URL: target.databaseUrl ?? "",
    SQLITE_PATH: join(target.folder, "proxy.sqlite"),
    SECRETS_FILE: join(target.folder, "secrets.json"),
    SPOOL_DIR: join(target.folder, spoolName),
  };
}
