import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { BrowserContext, chromium, Page } from "playwright-core";

import { DASHBOARD_DIR_ENV } from "../../src/dashboard/dashboard-assets";

/** Debian's Chromium, which the browser tests drive; Playwright downloads no browser of its own. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ROOT = resolve(__dirname, "..", "..");
const WEB = join(ROOT, "web");

/** Lists every file under a folder in sorted order, so their hash identifies one build. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder)
    .sort()
    .flatMap((name) => {
      const path = join(folder, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
}

/**
 * Builds the dashboard with Vite into a temporary folder named by the hash of its sources, reusing an earlier
 * build of the same sources, and points the server at it through `LLM_PROXY_DASHBOARD_DIR`. Building into a
 * folder of its own leaves `dist/`, which `nest build` deletes, alone.
 */
export function useBuiltDashboard(): string {
  const hash = createHash("sha256");
  for (const file of [...filesUnder(WEB), join(ROOT, "package-lock.json")]) {
    hash.update(file).update(readFileSync(file));
  }
  const folder = join(
    tmpdir(),
    `llm-proxy-dashboard-${hash.digest("hex").slice(0, 16)}`,
  );

  if (!existsSync(join(folder, "index.html"))) {
    const staging = `${folder}.${process.pid}.tmp`;
    execFileSync(
      process.execPath,
      [
        join(ROOT, "node_modules", "vite", "bin", "vite.js"),
        "build",
        "--config",
        join(WEB, "vite.config.ts"),
        "--logLevel",
        "error",
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ENV: "production",
          LLM_PROXY_DASHBOARD_OUT: staging,
        },
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
    if (existsSync(join(folder, "index.html"))) {
      rmSync(staging, { recursive: true, force: true });
    } else {
      rmSync(folder, { recursive: true, force: true });
      renameSync(staging, folder);
    }
  }

  process.env[DASHBOARD_DIR_ENV] = folder;
  return folder;
}

/** A Chromium with a fresh profile, so each signed-in user has cookies of their own. */
export class DashboardBrowser {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profile: string,
  ) {}

  /** Starts Chromium, failing at once with instructions when it is not installed. */
  static async open(): Promise<DashboardBrowser> {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM_PATH}; the dashboard tests need it. Install it with ` +
          "`apt-get install -y --no-install-recommends chromium` (Debian), as .ci/run does.",
      );
    }
    const profile = mkdtempSync(join(tmpdir(), "llm-proxy-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
      viewport: { width: 1280, height: 900 },
    });
    context.setDefaultTimeout(10_000);
    const page = context.pages()[0] ?? (await context.newPage());
    return new DashboardBrowser(context, page, profile);
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.profile, { recursive: true, force: true });
  }

  /** Signs in through the dashboard's password form and waits for the signed-in layout. */
  async signIn(
    baseUrl: string,
    username: string,
    password: string,
  ): Promise<void> {
    await this.page.goto(`${baseUrl}/dashboard/`);
    await this.page.getByLabel("Username", { exact: true }).fill(username);
    await this.page.getByLabel("Password", { exact: true }).fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
    await this.page.getByTestId("current-user").waitFor();
  }
}
