/**
 * Review findings: parallel steps in containers share one workspace. Each step must get its own
 * env (never a sibling's), and a step that ends first must not take the workspace away from a
 * step still running.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-hostile-par");
let image = "";
beforeAll(async () => {
  image = await ensureRunnerImage();
}, 600_000);

describe("parallel steps in containers", () => {
  test("each step sees its own env, and the slower step can still write /job after the quick one ended", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "job.yaml"),
      `
steps:
  - { name: quick, parallel: true, run: 'echo "quick=[$WHO]"', env: { WHO: quick-env } }
  - { name: slow, parallel: true, run: 'echo "slow=[$WHO]"; sleep 3; echo late > /job/late.txt && echo wrote', env: { WHO: slow-env } }
`,
    );
    const ws = join(dir, "ws");
    const r = await runCli(["run-job", join(dir, "job.yaml"), "--workspace", ws, "--image", image]);
    expect(r.stdout).toContain("[quick] quick=[quick-env]\n");
    expect(r.stdout).toContain("[slow] slow=[slow-env]\n");
    expect(r.stdout).toContain("[slow] wrote\n");
    expect(r.code).toBe(0);
    expect(readFileSync(join(ws, "late.txt"), "utf8")).toBe("late\n");
    // Handed back to its owner once both steps ended.
    expect(statSync(join(ws, "late.txt")).uid).toBe(statSync(dir).uid);
    // The env file (it may hold secrets) is not left in the workspace.
    expect(existsSync(join(ws, ".reactorcide", "job.env"))).toBe(false);
  }, 120_000);
});
