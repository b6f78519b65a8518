import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadDashboardBundle } from "../../src/dashboard/dashboard-bundle.js";

describe("loadDashboardBundle", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "dashboard-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("serves the prebuilt bundle when preferred and present", async () => {
    const prebuiltPath = join(dir, "dashboard.js");
    await writeFile(prebuiltPath, "/* prebuilt */");
    assert.equal(await loadDashboardBundle({ preferPrebuilt: true, prebuiltPath }), "/* prebuilt */");
  });

  it("bundles the sources when there is no prebuilt bundle", async () => {
    const script = await loadDashboardBundle({ preferPrebuilt: true, prebuiltPath: join(dir, "missing.js") });
    assert.ok(script.includes('data-field="ltp"'));
  });
});
