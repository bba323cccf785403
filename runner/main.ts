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
    run: () => import("./commands/run.ts").then((m) => m.default),
    "run-job": () => import("./commands/run-job.ts").then((m) => m.default),
    config: () => import("./commands/config.ts").then((m) => m.default),
    validate: () => import("./commands/validate.ts").then((m) => m.default),
    cleanup: () => import("./commands/cleanup.ts").then((m) => m.default),
    trigger: () => import("./commands/trigger.ts").then((m) => m.default),
    checkout: () => import("./commands/checkout.ts").then((m) => m.default),
    copy: () => import("./commands/copy.ts").then((m) => m.default),
    git: () => import("./commands/git.ts").then((m) => m.default),
    workflow: () => import("./commands/workflow.ts").then((m) => m.default),
    eval: () => import("./commands/eval.ts").then((m) => m.default),
    script: () => import("./commands/script.ts").then((m) => m.default),
    "register-secret": () => import("./commands/register-secret.ts").then((m) => m.default),
  },
});

await runMain(main);
