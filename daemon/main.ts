#!/usr/bin/env bun
import { defineCommand, runMain } from "citty";
import { VERSION_LINE } from "../runner/protocol/version.ts";

// Each command lives in daemon/commands/<name>.ts and is loaded only when it is called.
const main = defineCommand({
  meta: {
    name: "reactorcide",
    version: VERSION_LINE,
    description: "Reactorcide coordinator and worker",
  },
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.default),
    token: () => import("./commands/token.ts").then((m) => m.default),
    login: () => import("./commands/login.ts").then((m) => m.default),
    submit: () => import("./commands/submit.ts").then((m) => m.default),
    jobs: () => import("./commands/jobs.ts").then((m) => m.default),
    logs: () => import("./commands/logs.ts").then((m) => m.default),
    cancel: () => import("./commands/cancel.ts").then((m) => m.default),
    retry: () => import("./commands/retry.ts").then((m) => m.default),
    secrets: () => import("./commands/secrets.ts").then((m) => m.default),
    notifications: () => import("./commands/notifications.ts").then((m) => m.default),
    worker: () => import("./commands/worker.ts").then((m) => m.default),
    workflow: () => import("./commands/workflow.ts").then((m) => m.default),
    workflows: () => import("./commands/workflows.ts").then((m) => m.default),
  },
});

await runMain(main);
