import { afterAll } from "bun:test";
import { stopTestCluster } from "./postgres.ts";
import { ownRunTmp } from "./run-tmp.ts";

// Every temp dir of this run (the tests', and what the code under test makes: workspaces, archives,
// env files, Postgres) goes under one directory, removed when the run ends.
const runTmp = ownRunTmp();

// Global hook: runs once after every test file of the run has finished.
afterAll(async () => {
  await stopTestCluster();
  runTmp?.remove();
});
