#!/usr/bin/env bun
import { defineCommand, runMain } from "citty";
import { VERSION_LINE } from "./protocol/version.ts";

// Each command lives in runner/commands/<name>.ts and is loaded only when it is called.
const main = defineCommand({
  meta: {
    name: "reactorcide-runner",
    version: VERSION_LINE,
    description: "Runs a Reactorcide job: prepares sources, runs steps, masks secrets",
  },
  subCommands: {
    trigger: () => import("./commands/trigger.ts").then((m) => m.default),
  },
});

await runMain(main);
