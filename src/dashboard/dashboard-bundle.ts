import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The dashboard's directory: `index.html`, its sources in `src/`, the built files in `dist/`. */
export const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));

/** Where `npm run build` writes the bundle (beside a copy of index.html). */
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
 * DashboardBundleOptions choose where the dashboard's script comes from.
 */
export interface DashboardBundleOptions {
  /** Serve the prebuilt bundle when there is one (production images). Default false: bundle the sources, always current. */
  preferPrebuilt?: boolean;
  /** The prebuilt bundle. Default PREBUILT_BUNDLE. */
  prebuiltPath?: string;
}

/**
 * loadDashboardBundle returns the dashboard's script: the prebuilt bundle
 * when preferred and present, else a fresh bundle of the sources.
 */
export async function loadDashboardBundle(options: DashboardBundleOptions = {}): Promise<string> {
  if (options.preferPrebuilt === true) {
    const prebuilt = await readFile(options.prebuiltPath ?? PREBUILT_BUNDLE, "utf8").catch(() => undefined);
    if (prebuilt !== undefined) return prebuilt;
  }
  return bundleDashboard();
}
