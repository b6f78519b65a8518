// Writes the dashboard to web/dist/ (index.html and dashboard.js): what the
// container image serves, and what any static host can serve with
// ?gateway=<url> pointing at a gateway that allows its origin.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { bundleDashboard, PREBUILT_BUNDLE, WEB_DIR } from "../src/dashboard/dashboard-bundle.js";

await mkdir(`${WEB_DIR}dist`, { recursive: true });
const script = await bundleDashboard();
await writeFile(PREBUILT_BUNDLE, script);
await copyFile(`${WEB_DIR}index.html`, `${WEB_DIR}dist/index.html`);
console.log(`wrote ${WEB_DIR}dist/ (dashboard.js ${(script.length / 1024).toFixed(0)} KiB)`);
