import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

/** Who signs in at the provider's next login prompt. */
export interface OidcAccount {
  sub: string;
  preferred_username?: string;
  email?: string;
  groups?: string[];
}

/** A fault the provider injects into what it issues; see oidc-provider.mjs. */
export type OidcFault = "none" | "wrong-audience" | "clock-behind";

/**
 * panva's oidc-provider in a child process on 127.0.0.1 (the library is ESM-only, which jest's CommonJS runtime
 * cannot import), with one confidential client. The test picks the account that signs in next and any fault.
 */
export class OidcTestProvider {
  private constructor(
    private readonly child: ChildProcess,
    readonly issuer: string,
  ) {}

  static async start(client: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
  }): Promise<OidcTestProvider> {
    const child = spawn(
      process.execPath,
      [join(__dirname, "oidc-provider.mjs")],
      {
        env: {
          PATH: process.env.PATH,
          OIDC_CLIENT_ID: client.clientId,
          OIDC_CLIENT_SECRET: client.clientSecret,
          OIDC_REDIRECT_URI: client.redirectUri,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );

    let output = "";
    const issuer = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (data: Buffer) => {
        output += data.toString();
        const match = /\{"issuer":"([^"]+)"\}/.exec(output);
        if (match) {
          resolve(match[1]);
        }
      });
      child.stderr.on("data", (data: Buffer) => (output += data.toString()));
      child.once("exit", (code) =>
        reject(new Error(`OIDC provider exited with ${code}:\n${output}`)),
      );
    });
    return new OidcTestProvider(child, issuer);
  }

  async setAccount(account: OidcAccount): Promise<void> {
    await this.control("account", account);
  }

  async setFault(fault: OidcFault): Promise<void> {
    await this.control("fault", { fault });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }

  private async control(path: string, body: unknown): Promise<void> {
    const response = await fetch(`${this.issuer}/control/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
    });
    if (response.status !== 204) {
      throw new Error(`control/${path} answered ${response.status}`);
    }
  }
}
