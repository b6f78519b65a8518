// Writes the dashboard bundle to web/dist/, for installs that have no esbuild.
import { mkdir, writeFile } from "node:fs/promises";
import { bundleDashboard, PREBUILT_BUNDLE, WEB_DIR } from "../src/server/dashboard-bundle.js";

await mkdir(`${WEB_DIR}dist`, { recursive: true });
const script = await bundleDashboard();
await writeFile(PREBUILT_BUNDLE, script);
console.log(`wrote ${PREBUILT_BUNDLE} (${(script.length / 1024).toFixed(0)} KiB)`);
