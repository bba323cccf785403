import { afterAll } from "bun:test";
import { stopTestCluster } from "./postgres.ts";

// Global hook: runs once after every test file of the run has finished.
afterAll(async () => {
  await stopTestCluster();
});
