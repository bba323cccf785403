import { afterAll } from "bun:test";
import { stopTestCluster } from "./postgres.ts";
import { ownRunTmp } from "./run-tmp.ts";

// Every temp dir of this run (the tests', and what the code under test makes: workspaces, archives,
// env files, Postgres) goes under one directory, removed when the run ends.
const runTmp = ownRunTmp();
// And if the hook below never finishes (its default 5 s timeout under load), at exit.
process.once("exit", () => runTmp?.remove());

// Global hook: runs once after every test file of the run has finished.
afterAll(async () => {
  try {
    await stopTestCluster();
  } finally {
    // Also when the cluster never started (a run whose first test timed out in initdb).
    runTmp?.remove();
  }
});
