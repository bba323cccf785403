/**
 * One TMPDIR per test run: runs left thousands of rc-* / reactorcide-* dirs in /tmp (a test that
 * fails or forgets to clean up, a killed serve's workspaces, a runner's socket dir). scripts/test.ts
 * makes it before `bun test` starts, so every process of the run inherits it; a bare `bun test file`
 * gets one from the preload, which reaches this process and what it spawns with `env: process.env`
 * (Bun.spawn without `env` passes the environment the process started with).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Set, with TMPDIR equal to it, when the run's TMPDIR was made before `bun test` started. */
export const RUN_TMP_ENV = "REACTORCIDE_TEST_TMPDIR";

/**
 * A fresh dir for this run. Short (unix socket paths under it must fit in 108 bytes) and
 * traversable (0755): embedded Postgres and job containers run as other users.
 */
export function makeRunTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "rct-"));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeRunTmp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Makes this process's run TMPDIR unless its parent made one; returns what this process must remove. */
export function ownRunTmp(): { dir: string; remove(): void } | undefined {
  if (process.env[RUN_TMP_ENV] && process.env[RUN_TMP_ENV] === process.env.TMPDIR) return undefined;
  const dir = makeRunTmp();
  process.env.TMPDIR = dir;
  process.env[RUN_TMP_ENV] = dir;
  return { dir, remove: () => removeRunTmp(dir) };
}
