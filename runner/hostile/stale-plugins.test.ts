/**
 * Review finding: a job in a container owns the workspace, so what it leaves in /job/ci is not
 * trusted job code. A later run in the same workspace that prepares its own CI checkout must not
 * load plugins (host code, run by the runner) from the /job/ci the previous job left.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-hostile-plugins");
let image = "";
beforeAll(async () => {
  image = await ensureRunnerImage();
}, 600_000);

describe("plugins left in /job/ci by an earlier job", () => {
  test("are not loaded by a run that prepares its own CI checkout", async () => {
    const dir = tempDir();
    const ws = join(dir, "ws");
    const marker = join(dir, "pwned");
    const plugin = `export const name = "planted"; export function pre_validation() { require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x"); }`;
    // Run 1: untrusted code in a container plants a plugin where the job code goes.
    const planted = await runCli([
      "run", "--workspace", ws, "--image", image, "--secret-env-names", "",
      "--job-command", `mkdir -p /job/ci/.reactorcide/plugins && printf '%s' '${plugin}' > /job/ci/.reactorcide/plugins/planted.ts && echo planted`,
    ]);
    expect(planted.stdout).toContain("planted\n");
    expect(planted.code).toBe(0);

    // Run 2: trusted job code (no plugins) is copied into /job/ci.
    const ci = join(dir, "trusted-ci");
    mkdirSync(ci);
    writeFileSync(join(ci, "README"), "job code\n");
    const r = await runCli(["run", "--workspace", ws, "--ci-source-type", "copy", "--ci-source-url", ci, "--job-command", "ls /dev/null"]);
    expect(r.stdout + r.stderr).not.toContain("planted");
    expect(r.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(ws, "ci", "README"))).toBe(true);
  }, 120_000);
});
