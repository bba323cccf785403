import { afterAll } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopTestCluster } from "./postgres.ts";

// Every temp dir a test (or the code it runs: workspaces, archives, env files) makes goes under one
// directory of this run, removed when the run ends: runs left ~3,000 rc-*/reactorcide-* dirs in /tmp.
// Traversable by others: embedded Postgres runs as its own user, job containers as theirs.
const runTmp = mkdtempSync(join(tmpdir(), "reactorcide-test-run-"));
chmodSync(runTmp, 0o755);
process.env.TMPDIR = runTmp;

// Global hook: runs once after every test file of the run has finished.
afterAll(async () => {
  await stopTestCluster();
  rmSync(runTmp, { recursive: true, force: true });
});
