import { defineCommand } from "citty";
import { consola } from "consola";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workerArgs, workerConfig } from "../worker/options.ts";
import { startWorker } from "../worker/start.ts";

export default defineCommand({
  meta: { name: "worker", description: "Run a worker alone against a remote coordinator and task queue" },
  args: {
    coordinator: { type: "string", description: "Coordinator URL, e.g. https://ci.example.com [REACTORCIDE_COORDINATOR_URL]" },
    token: { type: "string", description: "Worker token (reactorcide token create --worker) [REACTORCIDE_WORKER_TOKEN]" },
    queue: { type: "string", description: "Corndogs address host:port or http(s)://host:port [CORNDOGS_URL]" },
    "corndogs-token": { type: "string", description: "Shared Corndogs token [CORNDOGS_TOKEN]" },
    ...workerArgs,
  },
  async run({ args }) {
    const env = process.env;
    const need = (value: string | undefined, flag: string, envName: string): string => {
      if (value) return value;
      consola.error(`--${flag} is required (or set ${envName})`);
      process.exit(2);
    };
    const coordinatorUrl = need(args.coordinator || env.REACTORCIDE_COORDINATOR_URL, "coordinator", "REACTORCIDE_COORDINATOR_URL");
    const token = need(args.token || env.REACTORCIDE_WORKER_TOKEN, "token", "REACTORCIDE_WORKER_TOKEN");
    const corndogsUrl = need(args.queue || env.CORNDOGS_URL, "queue", "CORNDOGS_URL");
    let config;
    try {
      config = workerConfig(args, env, join(tmpdir(), "reactorcide-worker"));
    } catch (error) {
      consola.error(error instanceof Error ? error.message : String(error));
      process.exit(2);
    }
    const running = await startWorker({
      config,
      coordinatorUrl,
      token,
      corndogsUrl,
      corndogsToken: args["corndogs-token"] || env.CORNDOGS_TOKEN,
    });
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      consola.info(`${signal}: taking no new jobs; waiting for ${running.worker.running} running job(s)`);
      await running.stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  },
});
