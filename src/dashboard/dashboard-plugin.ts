import { readFile } from "node:fs/promises";
import type { FastifyInstance } from "fastify";
import { loadDashboardBundle, WEB_DIR } from "./dashboard-bundle.js";

/**
 * dashboardPlugin serves the live browser dashboard: the page at `/` and
 * its script at `/dashboard.js`, bundled on first request (or read from
 * `npm run build`'s output when NODE_ENV is production) and kept for the
 * life of the process.
 */
export async function dashboardPlugin(app: FastifyInstance): Promise<void> {
  const page = await readFile(`${WEB_DIR}index.html`, "utf8");
  let bundle: Promise<string> | undefined;

  app.get("/", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").header("cache-control", "no-cache").send(page),
  );

  app.get("/dashboard.js", async (_request, reply) => {
    bundle ??= loadDashboardBundle({ preferPrebuilt: process.env.NODE_ENV === "production" });
    // A failed build is not cached: the next request tries again.
    const script = await bundle.catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return reply.type("text/javascript; charset=utf-8").header("cache-control", "no-cache").send(script);
  });
}
