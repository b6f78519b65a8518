import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The dashboard's directory: `index.html`, its sources in `src/`, the built bundle in `dist/`. */
export const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

/** Where `npm run build` writes the bundle, for installs without esbuild (the container image). */
export const PREBUILT_BUNDLE = `${WEB_DIR}dist/dashboard.js`;

/**
 * bundleDashboard builds the dashboard's script (Connect-Web client and
 * generated code included) with esbuild, in memory.
 */
export async function bundleDashboard(): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [`${WEB_DIR}src/dashboard.ts`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/**
 * loadDashboardBundle bundles the sources when esbuild is installed (a
 * checkout: always current) and falls back to the prebuilt bundle
 * otherwise (production dependencies only).
 */
export async function loadDashboardBundle(): Promise<string> {
  try {
    return await bundleDashboard();
  } catch (error) {
    if (!isMissingModule(error)) throw error;
    return readFile(PREBUILT_BUNDLE, "utf8").catch(() => {
      throw new Error(`the dashboard is not built: run "npm run build" (expected ${PREBUILT_BUNDLE})`);
    });
  }
}

function isMissingModule(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === "ERR_MODULE_NOT_FOUND";
}
