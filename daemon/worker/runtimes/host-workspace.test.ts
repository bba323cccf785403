import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { testWorkspaces } from "../testing/collect.ts";

test("a host workspace holds job.env (0600) read back exactly; remove takes it, and with keep only the env files", async () => {
  const workspaces = testWorkspaces({ owner: null });
  const dir = await workspaces.create("job-a", { PEM: 'line1\nline"2"\\', PLAIN: " x " });
  await workspaces.writeRunnerEnv("job-a", "REACTORCIDE_JOB_NAME=a\n");
  expect(await readFile(join(dir, "job.env"), "utf8")).toBe('PEM="line1\\nline\\"2\\"\\\\"\nPLAIN=" x "\n');
  expect((await stat(join(dir, "job.env"))).mode & 0o777).toBe(0o600);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  await workspaces.remove("job-a");
  expect(existsSync(dir)).toBe(false);
  expect(existsSync(workspaces.runnerEnvFile("job-a"))).toBe(false);

  const kept = testWorkspaces({ owner: null, keep: true });
  const keptDir = await kept.create("job-b", { TOKEN: "s3cret" });
  writeFileSync(join(keptDir, "artifact"), "x");
  await kept.remove("job-b");
  expect(existsSync(join(keptDir, "artifact"))).toBe(true);
  expect(existsSync(join(keptDir, "job.env"))).toBe(false);
  expect(await kept.leftovers()).toEqual([]);
});

test("leftovers are the jobs whose worker process is gone (or an earlier life of this one), never another live worker's", async () => {
  const workspaces = testWorkspaces({ owner: null });
  for (const id of ["dead", "mine", "other"]) await workspaces.create(id, { A: "1" });
  // A pid that is not running, this process's own (an earlier life with the same pid), and pid 1 (alive).
  const gone = Bun.spawnSync(["true"]).pid;
  writeFileSync(`${workspaces.dir("dead")}.owner`, String(gone));
  writeFileSync(`${workspaces.dir("other")}.owner`, "1");
  expect((await workspaces.leftovers()).sort()).toEqual(["dead", "mine"]);
  expect(() => workspaces.dir("../etc")).toThrow(/cannot name a workspace/);
});
