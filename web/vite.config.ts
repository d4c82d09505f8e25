import { fileURLToPath } from "node:url";

import { defineConfig } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));

/**
 * Builds the dashboard into `dist/web`, served by the server under `/dashboard/`. Vite 8 compiles JSX with the
 * automatic React runtime on its own, so no React plugin is needed. `LLM_PROXY_DASHBOARD_OUT` moves the
 * output, which the browser tests use to build into a temporary folder.
 */
export default defineConfig({
  root: webRoot,
  base: "/dashboard/",
  build: {
    outDir:
      process.env.LLM_PROXY_DASHBOARD_OUT ??
      fileURLToPath(new URL("../dist/web", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    // Emits images and fonts as files rather than data URLs, so the Content-Security-Policy can stay strict.
    assetsInlineLimit: 0,
    sourcemap: false,
    // React, React Router and Recharts make one file of about 730 kB (215 kB gzipped), cached for a year.
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      // React Router marks its modules "use client", a directive for server rendering that a browser bundle drops.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") {
          warn(warning);
        }
      },
    },
  },
  oxc: { jsx: { runtime: "automatic" } },
});
