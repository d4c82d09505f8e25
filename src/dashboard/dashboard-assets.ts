import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Environment variable that points the server at another folder of built dashboard assets. */
export const DASHBOARD_DIR_ENV = "LLM_PROXY_DASHBOARD_DIR";

/**
 * The Content-Security-Policy of the dashboard pages. Scripts and styles come only from the server's own
 * origin (Vite emits no inline script), the page may call only its own origin, and nothing may frame it.
 * `style-src 'unsafe-inline'` is absent because the charts set style attributes, which `style-src-attr`
 * covers on its own.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** The built dashboard: its folder and the text of its `index.html`, or null when it was not built. */
export interface DashboardAssets {
  folder: string;
  indexHtml: string | null;
}

/**
 * Finds the built dashboard: `LLM_PROXY_DASHBOARD_DIR` when set, else `dist/web` under the package root,
 * which is the same folder whether this file runs from `dist/src/dashboard` or, under ts-jest, from `src/dashboard`.
 */
export function loadDashboardAssets(
  env: NodeJS.ProcessEnv = process.env,
): DashboardAssets {
  const folder = env[DASHBOARD_DIR_ENV]
    ? resolve(env[DASHBOARD_DIR_ENV])
    : join(packageRoot(__dirname), "dist", "web");
  const indexPath = join(folder, "index.html");

  return {
    folder,
    indexHtml: existsSync(indexPath) ? readFileSync(indexPath, "utf8") : null,
  };
}

function packageRoot(start: string): string {
  let folder = start;
  while (!existsSync(join(folder, "package.json"))) {
    const parent = dirname(folder);
    if (parent === folder) {
      return process.cwd();
    }
    folder = parent;
  }
  return folder;
}

/** Name of the meta tag that lists the sign-in methods the sign-in page offers, space-separated. */
export const SIGN_IN_METHODS_META = "llmp-sign-in-methods";

/**
 * Adds the enabled sign-in methods to the page as a meta tag, so the sign-in page can offer single sign-on
 * without a public API route. A meta tag is used because the Content-Security-Policy allows no inline script.
 */
export function withSignInMethods(indexHtml: string, oidc: boolean): string {
  const methods = oidc ? "password oidc" : "password";
  return indexHtml.replace(
    "</head>",
    `  <meta name="${SIGN_IN_METHODS_META}" content="${methods}" />\n  </head>`,
  );
}
